"""TREC files and trec_eval-exact metrics (through `ir-measures` / `pytrec-eval-terrier`).

Conventions, the ones `trec_eval` uses (its C code runs underneath `pytrec_eval`):

- a query counts only if the qrels hold at least one relevant judgment for it (`rel > 0`);
  queries judged entirely non-relevant are dropped from qrels *and* run before averaging
  (`pytrec_eval` alone would average them in as zeros). The AILA dev qrels have relevant
  documents for all ten queries, so their figures do not depend on this choice;
- the run is re-ordered the way `trec_eval` reads it: by score descending, ties broken by
  document id descending (the rank column of a run file is ignored by `trec_eval`); run files
  written here use that order, so their rank column agrees with what is evaluated;
- a query of the qrels absent from the run is ignored (as `trec_eval` without `-c`); every
  evaluated ranking here covers every query, so this never happens in `indexing eval`.

    >>> qrels = read_qrels(Path("qrels.txt"))
    >>> run = {"Q1": {"C1": 3.2, "C7": 1.0}}
    >>> evaluate(qrels, run)["map"]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import ir_measures
from ir_measures import AP, RR, Bpref, P, R, nDCG

Qrels = dict[str, dict[str, int]]
Run = dict[str, dict[str, float]]

# Output key -> ir_measures measure. Order is the order of the printed JSON.
MEASURES = {
    "map": AP,
    "p@10": P @ 10,
    "ndcg@10": nDCG @ 10,
    "bpref": Bpref,
    "recip_rank": RR,
    "recall@100": R @ 100,
}


class TrecFormatError(ValueError):
    """A queries, qrels or run file that does not follow its format; names file and line."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path, self.line = path, line
        super().__init__(f"{path}:{line}: {message}")


def read_queries(path: Path) -> dict[str, str]:
    """Queries as `ID||text` lines (blank lines ignored).

    Args:
        path: the queries file.

    Returns:
        Query id -> text, in file order.

    Raises:
        TrecFormatError: on a line without `||`, an empty id or text, or a repeated id.
    """
    queries: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        qid, sep, text = line.partition("||")
        qid, text = qid.strip(), text.strip()
        if not sep or not qid or not text:
            raise TrecFormatError(path, n, "expected `ID||text`")
        if qid in queries:
            raise TrecFormatError(path, n, f"query {qid!r} appears twice")
        queries[qid] = text
    if not queries:
        raise TrecFormatError(path, 0, "no queries")
    return queries


def _trec_rows(path: Path, layout: str) -> Iterator[tuple[int, list[str]]]:
    """`(line number, fields)` of each non-blank line, which must have `layout`'s fields."""
    width = len(layout.split())
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != width:
            raise TrecFormatError(path, n, f"expected `{layout}`, got {len(fields)} fields")
        yield n, fields


def read_qrels(path: Path) -> Qrels:
    """TREC qrels `qid iter docid rel`.

    Args:
        path: the qrels file.

    Returns:
        Query id -> document id -> relevance grade.

    Raises:
        TrecFormatError: on a line that is not four fields with an integer grade.
    """
    qrels: Qrels = {}
    for n, (qid, _, docid, rel) in _trec_rows(path, "qid Q0 docid rel"):
        try:
            grade = int(rel)
        except ValueError:
            raise TrecFormatError(path, n, f"relevance {rel!r} is not an integer") from None
        qrels.setdefault(qid, {})[docid] = grade
    if not qrels:
        raise TrecFormatError(path, 0, "no judgments")
    return qrels


def judged_queries(qrels: Mapping[str, Mapping[str, int]]) -> list[str]:
    """The queries `trec_eval` averages over: those with at least one relevant document."""
    return [q for q, docs in qrels.items() if any(rel > 0 for rel in docs.values())]


def trec_order(scores: Mapping[str, float], depth: int | None = None) -> list[tuple[str, float]]:
    """Documents in `trec_eval` order (score descending, then document id descending).

    Args:
        scores: document id -> score.
        depth: keep the first `depth` (None: all).

    Returns:
        (document id, score) pairs, best first.
    """
    ranked = sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
    return ranked if depth is None else ranked[:depth]


def evaluate(qrels: Qrels, run: Run) -> dict[str, float]:
    """The six measures, averaged over the judged queries, as `trec_eval` computes them.

    Args:
        qrels: query -> document -> grade.
        run: query -> document -> score (any depth; truncate before calling for @100 runs).

    Returns:
        `{"map", "p@10", "ndcg@10", "bpref", "recip_rank", "recall@100", "queries"}`; all
        zeros with `queries == 0` when no run query has a relevant judgment.
    """
    keep = [q for q in judged_queries(qrels) if q in run]
    sub_qrels = {q: dict(qrels[q]) for q in keep}
    sub_run = {q: dict(run[q]) for q in keep}
    out: dict[str, float] = dict.fromkeys(MEASURES, 0.0)
    if keep:
        agg = ir_measures.calc_aggregate(list(MEASURES.values()), sub_qrels, sub_run)
        for key, measure in MEASURES.items():
            out[key] = float(agg[measure])
    out["queries"] = len(keep)
    return out


def per_query(qrels: Qrels, run: Run, key: str = "map") -> dict[str, float]:
    """One measure per judged query (for leave-one-out and per-query tables)."""
    keep = [q for q in judged_queries(qrels) if q in run]
    measure = MEASURES[key]
    values = dict.fromkeys(keep, 0.0)
    sub_qrels = {q: dict(qrels[q]) for q in keep}
    sub_run = {q: dict(run[q]) for q in keep}
    for m in ir_measures.iter_calc([measure], sub_qrels, sub_run):
        values[m.query_id] = float(m.value)
    return values


def write_run(path: Path, run: Run, tag: str, depth: int = 100) -> None:
    """Write a TREC run file `qid Q0 docid rank score tag`, `depth` documents per query.

    Args:
        path: the file to write (parent folders are created).
        run: query -> document -> score.
        tag: the run tag (last column; no spaces).
        depth: documents per query.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = tag.replace(" ", "_")
    with path.open("w", encoding="utf-8") as fh:
        for qid, scores in run.items():
            for rank, (doc, score) in enumerate(trec_order(scores, depth), start=1):
                fh.write(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write one JSON object per line (a benchmark's per-question outcomes; `--per-question`);
    parent folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")


def read_run(path: Path) -> Run:
    """Read a TREC run file back (query -> document -> score).

    Raises:
        TrecFormatError: on a line that is not six fields with a numeric score.
    """
    run: Run = {}
    for n, fields in _trec_rows(path, "qid Q0 docid rank score tag"):
        try:
            run.setdefault(fields[0], {})[fields[2]] = float(fields[4])
        except ValueError:
            raise TrecFormatError(path, n, f"score {fields[4]!r} is not a number") from None
    return run
