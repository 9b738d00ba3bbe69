"""The command line of a training run: its flags come from the fields of its configuration
dataclass (`EmbedderTraining`, `RerankerTraining`), a bad value exits 2 with the message, and
a missing `tuning` extra exits 2 naming the `pip` fix."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# fields given as paths on the command line
PATH_FIELDS = ("out", "base", "pairs")


def add_training_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    command: str,
    help_: str,
    config: type,
    train: Callable[[Any, Any], Any],
) -> argparse.ArgumentParser:
    """Add `command` with one flag per field of `config` (booleans as switches), `--corpus`,
    and a handler that builds the configuration and calls `train(config, IndexSettings)`."""
    p = subparsers.add_parser(command, help=help_)
    defaults = config()
    for f in dataclasses.fields(config):
        name = f.name
        flag = "--" + name.replace("_", "-")
        text = str(f.metadata.get("help", ""))
        value = getattr(defaults, name)
        if isinstance(value, bool):
            p.add_argument(flag, action="store_true", help=text)
        else:
            kind = Path if name in PATH_FIELDS else type(value)
            p.add_argument(flag, type=kind, default=value, help=f"{text} (default {value})")
    p.add_argument("--corpus", help="corpus directory (default: JURIS_CORPUS_DIR)")
    p.set_defaults(func=lambda args: run_training(args, command, config, train))
    return p


def run_training(
    args: argparse.Namespace, command: str, config: type, train: Callable[[Any, Any], Any]
) -> int:
    """Execute a training command; exit status 2 on a bad configuration or missing extra."""
    from indexing.settings import IndexSettings

    try:
        cfg = config(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config)})
        overrides: dict[str, Any] = {"corpus_dir": Path(args.corpus)} if args.corpus else {}
        train(cfg, IndexSettings(**overrides))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in ("datasets", "accelerate"):
            raise
        print(
            f"error: `python -m indexing {command}` needs the `tuning` extra (missing: "
            f"{err.name}); `pip install '.[tuning]'` installs it",
            file=sys.stderr,
        )
        return 2
    return 0
