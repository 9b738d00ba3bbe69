"""Reading JSONL files whose bad lines are reported by file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """`(line number, parsed object)` for every non-blank line of `path`.

    Raises:
        ValueError: `path:line: malformed JSON: …` at the first line that is not JSON.
        FileNotFoundError: when the file is missing.
    """
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{n}: malformed JSON: {err.msg}") from None
