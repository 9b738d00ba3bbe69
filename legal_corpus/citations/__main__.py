"""`python -m legal_corpus.citations`: parse citations from the command line, and the benchmark.

    python -m legal_corpus.citations parse "See 17 U.S.C. § 107 and Fed. R. Civ. P. 12(b)(6)."
    python -m legal_corpus.citations parse --file opinions/text/opinion_text.txt
    python -m legal_corpus.citations bench [--corpus DIR] [--out var/bench]

`parse` prints one JSON object per citation. `bench` writes `<out>/citations.json` and
`<out>/citations.md` (see `legal_corpus.lab.citations_bench`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: arguments (default: `sys.argv[1:]`).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m legal_corpus.citations",
        description="Find legal citations in text; measure how fast.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    parse = sub.add_parser("parse", help="print the citations in a text as JSON lines")
    parse.add_argument("text", nargs="?", help="the text (or use --file)")
    parse.add_argument("--file", type=Path, help="read the text from this file")
    bench = sub.add_parser("bench", help="ms per 10k characters on real opinions and judgments")
    bench.add_argument("--corpus", type=Path, help="corpus directory (default: JURIS_CORPUS_DIR)")
    bench.add_argument("--out", type=Path, default=Path("var/bench"), help="result folder")
    args = parser.parse_args(argv)

    if args.command == "parse":
        from legal_corpus.citations import parse_citations

        if args.file is not None:
            try:
                text = args.file.read_text(encoding="utf-8", errors="replace")
            except OSError as err:
                print(f"{args.file}: cannot read: {err}", file=sys.stderr)
                return 2
        elif args.text is not None:
            text = args.text
        else:
            text = sys.stdin.read()
        for cit in parse_citations(text):
            print(json.dumps(asdict(cit), ensure_ascii=False))
        return 0

    from legal_corpus.corpus import default_corpus_dir
    from legal_corpus.lab.citations_bench import run_bench

    corpus = args.corpus or default_corpus_dir()
    if not corpus.is_dir():
        print(f"corpus not found: {corpus}", file=sys.stderr)
        return 2
    return run_bench(corpus, args.out)


if __name__ == "__main__":
    sys.exit(main())
