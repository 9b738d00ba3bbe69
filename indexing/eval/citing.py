"""A larger prior-case benchmark built from the corpus itself: judgments citing judgments.

    python -m indexing citing-bench --out var/eval/citing        # queries.txt + qrels.txt
    python -m indexing eval --queries var/eval/citing/queries.txt \\
        --qrels var/eval/citing/qrels.txt --source aila/casedocs --mode hybrid \\
        --exclude-query-doc --json

AILA's prior-case task has ten dev queries with 24 relevant judgments between them: too few
to tell one retrieval choice from another. The AILA judgments themselves cite each other
(`<party> v. <party> … 1998 Indlaw SC 438`), which gives the same task at scale, built the
way AILA built its queries: each judgment that cites judgments of the corpus becomes a
query, its opening words (the facts) with every sentence that carries a citation removed and
provision numbers masked ("Section S", as AILA masks them); the judgments it cites are its
relevant documents. A citation is resolved by its year and the words of the cited
judgment's title found just before it (`legal_corpus.citation_graph`).

Query ids are `CITING_<doc id>`; `eval --exclude-query-doc` drops that judgment from its own
ranking (it would otherwise rank first on its own words).
"""

from __future__ import annotations

import argparse
import random
import re
import zlib
from collections import Counter, defaultdict
from pathlib import Path

from indexing.eval.rankers import SourceDocs, load_source
from indexing.text import SentenceRule, sentence_spans
from legal_corpus.citation_graph import CitationGraph, Judgment

SOURCE = "aila/casedocs"
PREFIX = "CITING_"
QUERY_WORDS = 500
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_CITES = re.compile(r"Indlaw|\bv\.|\bvs\.?(?=\s)|\bSCC\b|\bAIR\b|\bSCR\b", re.IGNORECASE)
_SENTENCES = SentenceRule(re.compile(r"(?<=[.?!])(?P<end>)\s+(?=[A-Z(0-9])"))
_PROVISION = re.compile(
    r"\b(Sections?|Articles?|Rules?|Order)\s+\d+[A-Z]?(?:\s*\(\w+\))*"
    r"(?:(?:\s*,\s*|\s+and\s+|\s*/\s*)\d+[A-Z]?(?:\s*\(\w+\))*)*"
)
REPEAT_SHARE = 0.8
_COMMON = 20
HEADER_LINES = 6  # title, court, blank, date, case number, bench


def query_doc(query_id: str) -> str:
    """The judgment a `CITING_<doc id>` query was made from (the id itself otherwise)."""
    return query_id.removeprefix(PREFIX)


def judgments(docs: SourceDocs) -> list[Judgment]:
    """The judgments of `docs` for the citation graph: title on the first line, decision
    year within the next four."""
    out = []
    for doc, text in zip(docs.ids, docs.texts, strict=True):
        lines = text.splitlines()
        year = _YEAR.search("\n".join(lines[1:5]))
        out.append(Judgment(doc, lines[0] if lines else "", int(year.group(1)) if year else None))
    return out


def resolve_citations(docs: SourceDocs) -> dict[str, frozenset[str]]:
    """Which judgments of the source each judgment cites (its `Indlaw SC` references).

    The benchmark keeps the neutral references only, as it was first built; reporter
    references (AIR, SCC) would add 125 links to the 1,939.

    Returns:
        citing id -> cited ids (only citations that resolve to another judgment of `docs`).
    """
    graph = CitationGraph(judgments(docs), zip(docs.ids, docs.texts, strict=True), reporters=False)
    return graph.links


def repeats(docs: SourceDocs, share: float = REPEAT_SHARE) -> dict[str, set[str]]:
    """The judgments the source holds more than once (the same text under two ids).

    Two judgments repeat each other when at least `share` of the shorter one's 8-word
    shingles are in the other (a sample of one shingle in eight, by hash). Judgments of the
    same judge reuse paragraphs, so lower shares are common between distinct judgments
    (on AILA, 0.2–0.6 for 550 pairs); the 17 pairs at or above 0.8 are the same judgment.

    Returns:
        doc id -> the other ids holding the same judgment (only for judgments held twice).
    """
    sampled = {d: _shingles(t) for d, t in zip(docs.ids, docs.texts, strict=True)}
    holders: dict[str, list[str]] = defaultdict(list)
    for doc, shingles in sampled.items():
        for s in shingles:
            holders[s].append(doc)
    shared: Counter[tuple[str, str]] = Counter()
    for ids in holders.values():
        if 1 < len(ids) <= _COMMON:  # a shingle in many judgments is a quotation, not a copy
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    shared[a, b] += 1
    out: dict[str, set[str]] = defaultdict(set)
    for (a, b), n in shared.items():
        if n >= share * max(1, min(len(sampled[a]), len(sampled[b]))):
            out[a].add(b)
            out[b].add(a)
    return dict(out)


def _shingles(text: str, n: int = 8) -> set[str]:
    words = text.lower().split()
    found = (" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return {s for s in found if zlib.crc32(s.encode()) % 8 == 0}


def fact_query(text: str, words: int = QUERY_WORDS) -> str:
    """A judgment's opening `words` words without its citations, provision numbers masked."""
    body = "\n".join(text.splitlines()[HEADER_LINES:])
    kept: list[str] = []
    for a, b in sentence_spans(body, _SENTENCES):
        sentence = body[a:b]
        if _CITES.search(sentence):
            continue
        kept.extend(sentence.split())
        if len(kept) >= words:
            break
    return _PROVISION.sub(lambda m: f"{m.group(1)} S", " ".join(kept[:words]))


def build(corpus_dir: Path, out: Path, queries: int = 300, seed: int = 7) -> tuple[int, int]:
    """Write `queries.txt` (`ID||text`) and `qrels.txt` (TREC) under `out`.

    Args:
        corpus_dir: the corpus root (holding `aila/casedocs`).
        out: the output folder (created).
        queries: at most this many citing judgments, drawn at random with `seed`.
        seed: the draw's seed (the same seed, the same benchmark).

    Returns:
        (queries written, relevance judgments written).
    """
    docs = load_source(corpus_dir, SOURCE)
    links = resolve_citations(docs)
    texts = dict(zip(docs.ids, docs.texts, strict=True))
    citing = sorted(links, key=_number)
    random.Random(seed).shuffle(citing)
    chosen = sorted(citing[:queries], key=_number)
    out.mkdir(parents=True, exist_ok=True)
    q_lines, r_lines = [], []
    for doc in chosen:
        q_lines.append(f"{PREFIX}{doc}||{fact_query(texts[doc])}\n")
        r_lines += [f"{PREFIX}{doc} 0 {c} 1\n" for c in sorted(links[doc], key=_number)]
    (out / "queries.txt").write_text("".join(q_lines), encoding="utf-8")
    (out / "qrels.txt").write_text("".join(r_lines), encoding="utf-8")
    return len(q_lines), len(r_lines)


def _number(doc: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", doc)
    return (int(digits) if digits else 0, doc)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `citing-bench` to the `python -m indexing` CLI."""
    p = subparsers.add_parser(
        "citing-bench", help="build the citing-judgments prior-case benchmark from the corpus"
    )
    p.add_argument("--out", type=Path, default=Path("var/eval/citing"), help="output folder")
    p.add_argument("--corpus", type=Path, default=None, help="corpus root")
    p.add_argument("--queries", type=int, default=300, help="citing judgments drawn")
    p.add_argument("--seed", type=int, default=7, help="the draw's seed")
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Execute `citing-bench`; 2 when the judgments are missing."""
    import sys

    from indexing.settings import IndexSettings

    corpus = args.corpus or IndexSettings(**{}).corpus()
    try:
        n_queries, n_rels = build(corpus, args.out, args.queries, args.seed)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{n_queries} queries, {n_rels} relevant judgments -> {args.out}")
    return 0
