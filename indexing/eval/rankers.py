"""Document rankers for the AILA evaluation: bm25s baseline, product sparse, dense, hybrid.

Every ranker maps a query text to `{doc_id: score}` over the whole source (all 2,914
judgments, or all 197 statutes); `indexing.eval.evaluate` turns those into TREC runs.

- `Bm25sRanker` — the independent baseline: the `bm25s` library's Lucene BM25 (k1 1.5,
  b 0.75) over whole documents with its standard tokeniser, English stopwords and Snowball
  stemming (PyStemmer). Nothing of the product is used.
- `SparseRanker` — the product's own sparse vectors: `indexing.sparse.tokenize` (legal tokens
  kept whole) and `Bm25Encoder` document weights on the same passages the index stores,
  scored exactly as Qdrant scores a sparse vector with the IDF modifier
  (`Σ q_t · idf_t · d_t`, `idf_t = ln(1 + (N − n_t + 0.5)/(n_t + 0.5))` over passages), then
  aggregated per document (`max`, `top3` = sum of the best three, or `rrf` over passage ranks).
  Long fact patterns are used whole: the query vector weights each term by its frequency in
  the query (`query_tf=True`) instead of the product's default term presence.
- `DenseRanker` — MiniLM passage vectors from `indexing.eval.dense.DenseCache`. A long fact
  pattern is split into overlapping windows (`split_query`; 100 words by default, well under
  the model window, so each window holds one or two facts rather than a blend of the whole
  story), each window is embedded, a document's score for a window is its best passage's
  cosine, and the windows are fused by their maximum (or mean).
- `fuse_rrf` — hybrid: weighted reciprocal rank fusion of document rankings (the same fusion
  the product's hybrid query asks Qdrant for, applied at document level).
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from indexing.eval.dense import PASSAGE_WORDS, source_files, split_passages
from indexing.sparse import Bm25Encoder, term_id, tokenize

log = logging.getLogger(__name__)

Scores = dict[str, float]
Aggregation = Literal["max", "top3", "rrf"]
RRF_K = 60
# Words per dense query window (measured: 100 beats 170, 60 and 30; see README, Evaluation).
QUERY_WINDOW = 100


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


class SparseRanker:
    """Product sparse vectors on passages, Qdrant IDF scoring, document aggregation.

    Args:
        docs: the source.
        cache_dir: where the passage-term matrix is cached (None: not cached).
        encoder: the product's document encoder. None: its default k1 and b with `avg_len`
            set to the source's own mean passage length in tokens (BM25's definition of the
            average document length; the product's fixed 120 is the mean of *its* chunks,
            while AILA statute passages average 63 tokens and judgment passages 75).
        max_words: the passage budget (the same passages the dense cache embeds).
    """

    def __init__(
        self,
        docs: SourceDocs,
        cache_dir: Path | None = None,
        encoder: Bm25Encoder | None = None,
        max_words: int = PASSAGE_WORDS,
    ) -> None:
        self.auto_avg = encoder is None
        self.encoder = encoder or Bm25Encoder()
        self.max_words = max_words
        self.ids = docs.ids
        self.columns: dict[int, int] = {}
        key = f"{docs.fingerprint()}-{max_words}-{self.encoder.k1}-{self.encoder.b}"
        key += "-mean" if self.auto_avg else f"-{self.encoder.avg_len}"
        cached = (
            cache_dir / f"sparse-{docs.source.replace('/', '-')}-{key}.npz" if cache_dir else None
        )
        if cached is not None and cached.exists():
            with np.load(cached) as z:
                self.matrix = sp.csr_matrix(
                    (z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"])
                )
                self.owner = z["owner"]
                self.columns = {int(t): i for i, t in enumerate(z["terms"])}
                avg_len = float(z["avg_len"])
            if self.auto_avg:
                self.encoder = Bm25Encoder(self.encoder.k1, self.encoder.b, avg_len)
        else:
            self._build(docs, max_words)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                terms = np.array(sorted(self.columns, key=self.columns.__getitem__))
                np.savez(
                    cached,
                    data=self.matrix.data,
                    indices=self.matrix.indices,
                    indptr=self.matrix.indptr,
                    shape=np.array(self.matrix.shape),
                    owner=self.owner,
                    terms=terms,
                    avg_len=np.array(self.encoder.avg_len),
                )
        n_points = self.matrix.shape[0]
        df = np.bincount(self.matrix.indices, minlength=self.matrix.shape[1])
        self.idf = np.log1p((n_points - df + 0.5) / (df + 0.5))
        self.n_docs = len(self.ids)

    def _build(self, docs: SourceDocs, max_words: int) -> None:
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        owner: list[int] = []
        self.columns = {}
        passages = [split_passages(text, max_words) for text in docs.texts]
        if self.auto_avg:
            lengths = [len(tokenize(p)) for ps in passages for p in ps]
            mean = float(np.mean(lengths)) if lengths and np.mean(lengths) > 0 else 1.0
            self.encoder = Bm25Encoder(self.encoder.k1, self.encoder.b, round(mean, 2))
        row = 0
        for d, doc_passages in enumerate(
            tqdm(passages, desc=f"sparse {docs.source}", unit="doc", disable=None)
        ):
            for passage in doc_passages:
                vec = self.encoder.document(passage)
                for tid, w in zip(vec.indices, vec.values, strict=True):
                    col = self.columns.setdefault(tid, len(self.columns))
                    rows.append(row)
                    cols.append(col)
                    vals.append(w)
                owner.append(d)
                row += 1
        self.matrix = sp.csr_matrix(
            (np.array(vals, dtype=np.float32), (rows, cols)), shape=(row, len(self.columns))
        )
        self.owner = np.array(owner, dtype=np.int32)

    def query_vector(
        self, query: str, query_tf: bool = False, query_terms: int | None = None
    ) -> np.ndarray:
        """The query's sparse vector with Qdrant's IDF folded in.

        Args:
            query: the query text, used whole.
            query_tf: weight terms by their frequency in the query (else presence, as the
                product's `Bm25Encoder.query`).
            query_terms: keep only the this many most specific terms (highest IDF; ties by
                term), the rest of a long fact pattern being narrative; None keeps all.

        Returns:
            A dense array over the matrix columns.
        """
        counts = Counter(tokenize(query))
        known: list[tuple[float, str, int]] = []
        for term in counts:
            col = self.columns.get(term_id(term))
            if col is not None:
                known.append((float(self.idf[col]), term, col))
        if query_terms is not None:
            known = sorted(known, key=lambda k: (-k[0], k[1]))[:query_terms]
        q = np.zeros(self.matrix.shape[1], dtype=np.float32)
        for idf, term, col in known:
            q[col] = (counts[term] if query_tf else 1.0) * idf
        return q

    def passage_scores(
        self, query: str, query_tf: bool = False, query_terms: int | None = None
    ) -> np.ndarray:
        """Qdrant's IDF-modified sparse score of every passage for `query`."""
        result: np.ndarray = self.matrix @ self.query_vector(query, query_tf, query_terms)
        return result

    def rank(
        self,
        query: str,
        agg: Aggregation = "max",
        query_tf: bool = False,
        query_terms: int | None = None,
    ) -> Scores:
        """Document scores: passage scores aggregated per document.

        Args:
            query: the query text.
            agg: `max` (best passage), `top3` (sum of the best three), `rrf` (reciprocal
                rank fusion over the passage ranking: Σ 1/(60 + rank)).
            query_tf: see `query_vector`.
            query_terms: see `query_vector`.

        Returns:
            doc id -> score for documents with a positive score.
        """
        scores = self.passage_scores(query, query_tf, query_terms)
        return aggregate(scores, self.owner, self.ids, agg)

    def best_passage(
        self, doc: str, query: str, texts: Sequence[str], query_terms: int | None = None
    ) -> str:
        """The passage of `doc` that scores best for `query` (for rerankers).

        Args:
            doc: the document id.
            query: the query.
            texts: the source's document texts, aligned with `self.ids`.
            query_terms: as in `query_vector`.

        Returns:
            The passage text (the document's first passage when no term matches).
        """
        d = self.ids.index(doc)
        rows = np.flatnonzero(self.owner == d)
        scores = self.matrix[rows] @ self.query_vector(query, False, query_terms)
        passages = split_passages(texts[d], self.max_words)
        return passages[int(np.argmax(scores))] if len(passages) else ""


def aggregate(
    passage_scores: np.ndarray, owner: np.ndarray, ids: Sequence[str], agg: Aggregation
) -> Scores:
    """Fold passage scores into document scores (`max`, `top3` or `rrf`; see `SparseRanker`)."""
    hit = np.flatnonzero(passage_scores > 0) if agg != "rrf" else np.arange(len(passage_scores))
    order = hit[np.argsort(-passage_scores[hit], kind="stable")]
    docs = owner[order].astype(np.int64)
    out = np.zeros(len(ids), dtype=np.float64)
    if agg == "max":
        out[docs[::-1]] = passage_scores[order[::-1]]  # the last write (the best) wins
    elif agg == "top3":
        by_doc = np.argsort(docs, kind="stable")  # within a document: best first
        sorted_docs = docs[by_doc]
        first = np.searchsorted(sorted_docs, sorted_docs, side="left")
        keep = by_doc[(np.arange(len(by_doc)) - first) < 3]
        np.add.at(out, docs[keep], passage_scores[order[keep]])
    else:
        top = docs[:2000]
        np.add.at(out, top, 1.0 / (RRF_K + np.arange(1, len(top) + 1)))
    seen = np.zeros(len(ids), dtype=bool)
    seen[docs[:2000] if agg == "rrf" else docs] = True
    return {ids[int(d)]: float(out[d]) for d in np.flatnonzero(seen)}


def split_query(text: str, window: int = PASSAGE_WORDS, stride: int | None = None) -> list[str]:
    """Overlapping word windows covering a long query (one window when it fits).

    Args:
        text: the query.
        window: words per window (fits MiniLM's 256-token window, see `PASSAGE_WORDS`).
        stride: words between window starts (default: half a window).

    Returns:
        The windows; together they cover every word of the query.
    """
    words = text.split()
    if len(words) <= window:
        return [" ".join(words)]
    step = stride or max(1, window // 2)
    starts = list(range(0, len(words) - window + 1, step))
    if starts[-1] + window < len(words):
        starts.append(len(words) - window)
    return [" ".join(words[s : s + window]) for s in starts]


class DenseRanker:
    """Dense document scores from cached passage vectors (see module docstring).

    Args:
        ids: the source's document ids (every one gets a score).
        passage_ids: the document id of each cached passage vector.
        vectors: L2-normalised passage vectors (rows).
        encode: texts -> L2-normalised vectors, for the query windows.
    """

    def __init__(
        self,
        ids: Sequence[str],
        passage_ids: Sequence[str],
        vectors: np.ndarray,
        encode: Callable[[Sequence[str]], np.ndarray],
    ) -> None:
        self.ids = tuple(ids)
        index = {d: i for i, d in enumerate(self.ids)}
        keep = [i for i, d in enumerate(passage_ids) if d in index]
        self.owner = np.array([index[passage_ids[i]] for i in keep], dtype=np.int64)
        self.vectors = vectors[keep]
        self.encode = encode

    def rank(
        self, query: str, fuse: Literal["mean", "max"] = "max", window: int = QUERY_WINDOW
    ) -> Scores:
        """Each document's best-passage cosine per query window, fused over the windows.

        Args:
            query: the query text (any length; never truncated).
            fuse: `max` (the best window decides) or `mean` over the windows.
            window: words per query window (stride half a window).

        Returns:
            doc id -> fused cosine, for every document with a passage vector.
        """
        windows = split_query(query, window)
        q = np.asarray(self.encode(windows), dtype=np.float32)
        sims = self.vectors @ q.T  # passages x windows
        best = np.full((len(self.ids), len(windows)), -1.0, dtype=np.float32)
        np.maximum.at(best, self.owner, sims)
        doc = best.mean(axis=1) if fuse == "mean" else best.max(axis=1)
        return {d: float(s) for d, s in zip(self.ids, doc, strict=True) if s > -1.0}


def fuse_rrf(rankings: Sequence[Scores], weights: Sequence[float], k: int = RRF_K) -> Scores:
    """Weighted reciprocal rank fusion of document rankings: Σ w / (k + rank).

    Args:
        rankings: doc -> score maps (higher is better), each ranked independently.
        weights: one weight per ranking.
        k: the RRF constant (60, as Qdrant's `Fusion.Rrf` default).

    Returns:
        doc -> fused score.
    """
    fused: dict[str, float] = {}
    for scores, w in zip(rankings, weights, strict=True):
        ranked = sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        for rank, (doc, _) in enumerate(ranked, start=1):
            fused[doc] = fused.get(doc, 0.0) + w / (k + rank)
    return fused
