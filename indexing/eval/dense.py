"""Dense passage vectors for the AILA evaluation, built once and cached on disk.

Embedding all 2,914 AILA judgments (about 60k passages) with MiniLM on two CPU cores takes the
better part of an hour, so the evaluation keeps its passage vectors in a cache directory and
builds them *breadth first*: round 0 embeds the first passage of every document, round 1 the
second, and so on. Every finished round is saved at once, so an interrupted build resumes
where it stopped, and an incomplete cache is still usable: every document is represented by
its first `rounds` passages (the part of an Indian judgment that states the facts).

    >>> cache = DenseCache(Path("var/eval/dense"), "aila/casedocs", corpus_dir)
    >>> cache.build(encoder)                      # resumable; tqdm progress bar
    >>> doc_ids, vectors = cache.load()           # row i is a passage of doc_ids[i]
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexing.text import SentenceRule, pack, split_sentences

log = logging.getLogger(__name__)

# ~170 words is about 220 MiniLM word pieces for Indian legal English: under the model's
# 256-token window, so a passage is embedded whole, never silently truncated.
PASSAGE_WORDS = 170
# where a long paragraph may be split into passages
_SENTENCES = SentenceRule(re.compile(r"(?<=[.;:?!])(?P<end>)\s+(?=[A-Z0-9(\"'])"))

Encoder = Callable[[Sequence[str]], np.ndarray]


def split_passages(text: str, max_words: int = PASSAGE_WORDS) -> list[str]:
    """Split a document into passages of at most `max_words` words along its structure.

    Paragraphs (lines) are packed together while they fit; a paragraph longer than the
    limit is split at sentence boundaries, and a sentence longer than the limit at word
    boundaries. Nothing is dropped: the passages joined by spaces hold every word.

    Args:
        text: the document text.
        max_words: the passage budget in whitespace words.

    Returns:
        The passages, in document order.
    """
    pieces: list[list[str]] = []
    for para in text.splitlines():
        words = para.split()
        if not words:
            continue
        if len(words) <= max_words:
            pieces.append(words)
            continue
        for sentence in split_sentences(para, _SENTENCES):
            sw = sentence.split()
            for start in range(0, len(sw), max_words):
                pieces.append(sw[start : start + max_words])
    groups = pack(pieces, lambda group, words: sum(map(len, group)) + len(words) <= max_words)
    return [" ".join(w for words in group for w in words) for group in groups]


def source_files(corpus_dir: Path, source: str, only: Sequence[str] | None = None) -> list[Path]:
    """The `*.txt` documents of an AILA source folder, sorted; `only` keeps those ids.

    Raises:
        FileNotFoundError: when the folder holds no `*.txt` documents.
    """
    files = sorted((corpus_dir / source).glob("*.txt"))
    if only is not None:
        wanted = set(only)
        files = [f for f in files if f.stem in wanted]
    if not files:
        raise FileNotFoundError(f"{corpus_dir / source}: no *.txt documents")
    return files


def _doc_id(path: Path) -> str:
    return path.stem


class DenseCache:
    """Breadth-first, resumable passage vectors of one AILA source.

    Args:
        root: the cache directory (e.g. `var/eval/dense`).
        source: `aila/casedocs` or `aila/statutes`.
        corpus_dir: the corpus root (holds `aila/…`).
        model_name: a label of the embedding model, part of the cache key.
        max_words: the passage budget (part of the cache key).
        only: keep only these document ids (a slice for tests).
    """

    def __init__(
        self,
        root: Path,
        source: str,
        corpus_dir: Path,
        model_name: str = "all-MiniLM-L6-v2",
        max_words: int = PASSAGE_WORDS,
        only: Sequence[str] | None = None,
    ) -> None:
        self.source = source
        self.corpus_dir = corpus_dir
        self.max_words = max_words
        self.files = files = source_files(corpus_dir, source, only)
        digest = hashlib.sha1()
        for f in files:
            digest.update(f.name.encode())
            digest.update(str(f.stat().st_size).encode())
        key = f"{source}|{model_name}|{max_words}|{digest.hexdigest()}"
        tag = hashlib.sha1(key.encode()).hexdigest()[:12]
        self.dir = root / f"{source.replace('/', '-')}-{tag}"
        self.key = key

    def passages(self) -> list[tuple[str, list[str]]]:
        """Every document's id (file stem, `C123`) and its passages, in file order."""
        out: list[tuple[str, list[str]]] = []
        for f in self.files:
            text = f.read_text(encoding="utf-8", errors="replace")
            out.append((_doc_id(f), split_passages(text, self.max_words)))
        return out

    def rounds_done(self) -> int:
        """How many breadth-first rounds are saved."""
        n = 0
        while (self.dir / f"round-{n:03d}.npz").exists():
            n += 1
        return n

    def total_rounds(self) -> int:
        """The number of rounds a complete cache has (the longest document's passages)."""
        return max(len(p) for _, p in self.passages())

    def build(
        self,
        encode: Encoder,
        max_rounds: int | None = None,
        batch: int = 64,
        max_passages: int | None = None,
    ) -> int:
        """Embed the missing rounds (all, or up to the caps); returns the rounds done.

        Args:
            encode: texts -> L2-normalised float32 matrix (one row per text).
            max_rounds: stop after this many rounds (None: until every passage is embedded).
            batch: texts per `encode` call.
            max_passages: stop before the round that would take the cache (counted from
                round 0) past this many passages; round 0 is always built so every document
                has a vector. None: no passage cap. Rounds already saved are kept either way.

        Returns:
            The number of complete rounds in the cache afterwards.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "key.json").write_text(json.dumps({"key": self.key}))
        docs = self.passages()
        total = max(len(p) for _, p in docs)
        limit = total if max_rounds is None else min(total, max_rounds)
        if max_passages is not None:
            cumulative = 0
            for r in range(limit):
                cumulative += sum(1 for _, p in docs if len(p) > r)
                if cumulative > max_passages and r > 0:
                    limit = r
                    break
        start = self.rounds_done()
        remaining = sum(len(p[start:limit]) for _, p in docs)
        bar = tqdm(total=remaining, desc=f"embed {self.source}", unit="passage", disable=None)
        for r in range(start, limit):
            ids = [d for d, p in docs if len(p) > r]
            texts = [p[r] for _, p in docs if len(p) > r]
            parts: list[np.ndarray] = []
            for i in range(0, len(texts), batch):
                parts.append(np.asarray(encode(texts[i : i + batch]), dtype=np.float32))
                bar.update(len(texts[i : i + batch]))
            vectors = np.vstack(parts)
            tmp = self.dir / f"round-{r:03d}.tmp.npz"
            np.savez(tmp, ids=np.array(ids), vectors=vectors)
            tmp.replace(self.dir / f"round-{r:03d}.npz")
        bar.close()
        return self.rounds_done()

    def load(self, max_rounds: int | None = None) -> tuple[list[str], np.ndarray]:
        """The saved passage vectors: (doc id of each row, matrix).

        Raises:
            FileNotFoundError: when not even round 0 is built.
        """
        done = self.rounds_done()
        if done == 0:
            raise FileNotFoundError(
                f"{self.dir}: no dense vectors yet; run `python -m indexing report` to build them"
            )
        n = done if max_rounds is None else min(done, max_rounds)
        ids: list[str] = []
        mats: list[np.ndarray] = []
        for r in range(n):
            with np.load(self.dir / f"round-{r:03d}.npz") as z:
                ids.extend(str(x) for x in z["ids"])
                mats.append(z["vectors"])
        return ids, np.vstack(mats)
