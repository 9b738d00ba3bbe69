"""`python -m serving serve|demo|keys|bench` — the gateway's command line.

python -m serving serve                       # JURIS_* settings; http://127.0.0.1:8000
python -m serving keys add alice [--admin]    # prints the new key once, stores its hash
python -m serving keys revoke alice
python -m serving keys list
python -m serving demo                        # index (incremental), serve, ask, keep serving
python -m serving bench --out var/bench       # gateway overhead, load and soak figures
python -m serving bench --only soak --soak-duration 120   # a short soak
python -m serving bench --only model          # the real model: base vs adapter, direct vs gateway
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

DEFAULT_KEYS_FILE = Path("var/api_keys.json")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _keys(args: argparse.Namespace) -> int:
    from serving.auth import add_key, read_keys_file, revoke_key

    path = Path(args.file)
    if args.keys_cmd == "add":
        key = add_key(path, args.name, admin=args.admin, rate_per_minute=args.rate,
                      scheme=args.scheme)  # fmt: skip
        print(key)
        print(f"(stored hashed in {path}; this key is not shown again)", file=sys.stderr)
        return 0
    if args.keys_cmd == "revoke":
        n = revoke_key(path, args.name)
        print(f"revoked {n} key(s) named {args.name!r}", file=sys.stderr)
        return 0 if n else 1
    for k in read_keys_file(path):
        state = "revoked" if k.revoked else "active"
        print(f"{k.name}\t{k.key_id}\t{','.join(k.scopes)}\t{state}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from serving.app import create_app
    from serving.settings import GatewaySettings

    settings = GatewaySettings()  # type: ignore[call-arg]
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command."""
    parser = argparse.ArgumentParser(
        prog="python -m serving",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="cmd", required=True)

    serve = sub.add_parser("serve", help="run the gateway (settings from JURIS_*)")
    serve.add_argument("--log-level", default="info")

    keys = sub.add_parser("keys", help="manage API keys")
    keys.add_argument("--file", default=None, help="keys file (default JURIS_API_KEYS_FILE)")
    keys_sub = keys.add_subparsers(dest="keys_cmd", required=True)
    add = keys_sub.add_parser("add", help="create a key; prints it once")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="add the admin scope")
    add.add_argument("--rate", type=float, default=None, help="requests per minute for this key")
    add.add_argument("--scheme", default="sha256", choices=["sha256", "pbkdf2_sha256"])
    revoke = keys_sub.add_parser("revoke", help="revoke every key with this name")
    revoke.add_argument("name")
    keys_sub.add_parser("list", help="list keys (never hashes)")

    demo = sub.add_parser("demo", help="index the corpus, serve, ask a sample question")
    demo.add_argument("--sources", default=None, help="adapter sources to index (comma list)")
    demo.add_argument("--no-wait", action="store_true", help="exit after the sample question")
    demo.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="model vLLM serves on CPU (default: extractive answers only)",
    )
    demo.add_argument("--adapter", type=Path, default=None,
                      help="LoRA adapter served as `legal` (default: none)")  # fmt: skip

    bench = sub.add_parser("bench", help="gateway overhead and load benchmarks")
    bench.add_argument("--out", default="var/bench")
    bench.add_argument("--duration", type=float, default=90.0, help="seconds per load phase")
    bench.add_argument("--clients", type=int, default=16)
    bench.add_argument("--requests", type=int, default=50, help="overhead samples per path")
    bench.add_argument("--no-vllm", action="store_true", help="skip the vLLM overhead part")
    bench.add_argument(
        "--only",
        default="overhead,load,model,soak",
        help="parts (comma list): overhead, load, model (the real model and its adapter), soak",
    )
    bench.add_argument(
        "--soak-duration", type=float, default=600.0, help="seconds of the soak part"
    )

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP call otherwise
    if args.cmd == "keys":
        import os

        args.file = args.file or os.environ.get("JURIS_API_KEYS_FILE") or str(DEFAULT_KEYS_FILE)
        return _keys(args)
    if args.cmd == "serve":
        return _serve(args)
    if args.cmd == "demo":
        from serving.lab.demo import run_demo

        return run_demo(
            sources=args.sources,
            wait=not args.no_wait,
            model_dir=args.model_dir,
            adapter=args.adapter,
        )
    from serving.lab.bench import run_bench

    return run_bench(
        Path(args.out), duration_s=args.duration, clients=args.clients,
        samples=args.requests, with_vllm=not args.no_vllm,
        parts=set(args.only.split(",")), soak_duration_s=args.soak_duration,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
