"""Argument parsing and wiring for `python -m training`; the work lives in the other modules."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def _tiny_model(args: argparse.Namespace) -> int:
    from training.tiny_model import build_tiny_model

    out = build_tiny_model(Path(args.out), seed=args.seed)
    print(out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `python -m training` argument parser (one sub-command per pipeline step)."""
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    tiny = sub.add_parser("tiny-model", help="build the tiny local Llama model for tests/demos")
    tiny.add_argument("--out", required=True, help="output directory")
    tiny.add_argument("--seed", type=int, default=0, help="weight initialisation seed")
    tiny.set_defaults(func=_tiny_model)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse `argv` and run the chosen sub-command; returns the exit status."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
