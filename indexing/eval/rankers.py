"""Document rankings for the AILA evaluation that are not the product's: the bm25s baseline.

`Bm25sRanker` is the independent baseline every report measures beside the product: the
`bm25s` library's Lucene BM25 (k1 1.5, b 0.75) over whole documents with its standard
tokeniser, English stopwords and Snowball stemming (PyStemmer). Nothing of the product is
used. The product's own modes rank through `indexing.fact_patterns`, in memory
(`indexing.eval.memory`) or through the built index.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

Scores = dict[str, float]


@dataclass(frozen=True, slots=True)
class SourceDocs:
    """The documents of one AILA source: ids (`C123`) and full texts, in file order."""

    source: str
    ids: tuple[str, ...]
    texts: tuple[str, ...]

    def fingerprint(self) -> str:
        """A short hash of ids and text lengths (a cache key for derived data)."""
        h = hashlib.sha1(self.source.encode())
        for i, t in zip(self.ids, self.texts, strict=True):
            h.update(f"{i}:{len(t)};".encode())
        return h.hexdigest()[:12]


def load_source(corpus_dir: Path, source: str, only: Sequence[str] | None = None) -> SourceDocs:
    """Read an AILA source folder (`aila/casedocs`, `aila/statutes`).

    Args:
        corpus_dir: the corpus root.
        source: the source folder under it.
        only: keep only these document ids (a small slice for tests); None keeps all.

    Returns:
        The documents, ids being the file stems as the qrels use them.

    Raises:
        FileNotFoundError: when the folder holds no `*.txt` documents.
    """
    files = source_files(corpus_dir, source, only)
    texts = tuple(f.read_text(encoding="utf-8", errors="replace") for f in files)
    return SourceDocs(source, tuple(f.stem for f in files), texts)


class Bm25sRanker:
    """The `bm25s` library baseline over whole documents (see module docstring)."""

    def __init__(self, docs: SourceDocs) -> None:
        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        self.ids = docs.ids
        tokens = bm25s.tokenize(
            list(docs.texts), stopwords="en", stemmer=self.stemmer, show_progress=False
        )
        self.model = bm25s.BM25()
        self.model.index(tokens, show_progress=False)

    def rank(self, query: str) -> Scores:
        """BM25 scores of every document that shares a term with `query`."""
        terms = self._bm25s.tokenize(
            [query], stopwords="en", stemmer=self.stemmer, return_ids=False, show_progress=False
        )
        scores = self.model.get_scores(terms[0])
        return {self.ids[i]: float(s) for i, s in enumerate(scores) if s > 0}


def source_files(corpus_dir: Path, source: str, only: Sequence[str] | None = None) -> list[Path]:
    """The `*.txt` documents of an AILA source folder, sorted; `only` keeps those ids.

    Raises:
        FileNotFoundError: when the folder holds no `*.txt` documents.
    """
    files = sorted((corpus_dir / source).glob("*.txt"))
    if only is not None:
        wanted = {d.partition(":")[2] or d for d in only}
        files = [f for f in files if f.stem in wanted]
    if not files:
        raise FileNotFoundError(f"{corpus_dir / source}: no *.txt documents")
    return files
