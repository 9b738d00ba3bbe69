"""A small real AILA corpus (five judgments, six statutes and the dev queries), copied where a
test can build, stop and evaluate over it."""

from __future__ import annotations

import shutil
from pathlib import Path

JUDGMENTS = ("C1", "C76", "C92", "C1516", "C2108")  # C76 cites C92 (1996 Indlaw SC 1409)
STATUTES = tuple(f"S{n}" for n in range(1, 7))


def copy_small_aila(corpus_dir: Path, root: Path) -> Path:
    """Copy the small corpus from `corpus_dir` into `root` (its `aila/` folder); returns `root`."""
    for folder, ids in (("casedocs", JUDGMENTS), ("statutes", STATUTES)):
        (root / "aila" / folder).mkdir(parents=True)
        for doc in ids:
            shutil.copy(corpus_dir / "aila" / folder / f"{doc}.txt", root / "aila" / folder)
    for name in ("queries_dev.txt", "qrels_priorcases_dev.txt", "qrels_statutes_dev.txt"):
        shutil.copy(corpus_dir / "aila" / name, root / "aila" / name)
    return root
