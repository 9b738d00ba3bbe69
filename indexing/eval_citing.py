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
relevant documents. A citation is resolved by its year (the judgment's decision year) and
the words of the judgment's title found just before it (IDF-weighted share ≥ 0.6).

Query ids are `CITING_<doc id>`; `eval --exclude-query-doc` drops that judgment from its own
ranking (it would otherwise rank first on its own words).
"""

from __future__ import annotations

import argparse
import math
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

from indexing.eval_rankers import SourceDocs, load_source

SOURCE = "aila/casedocs"
PREFIX = "CITING_"
QUERY_WORDS = 500
TITLE_SHARE = 0.6
_WORD = re.compile(r"[a-z]+")
# words of a title that do not identify the judgment
_TITLE_STOP = frozenset(
    {"v", "vs", "versus", "of", "the", "and", "state", "union", "india", "others", "ors"}
    | {"anr", "another", "in", "re"}
)
_REFERENCE = re.compile(r"\b(1[89]\d\d|20\d\d) Indlaw SC \d+")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_CITES = re.compile(r"Indlaw|\bv\.|\bvs\.?(?=\s)|\bSCC\b|\bAIR\b|\bSCR\b", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=[A-Z(0-9])")
_PROVISION = re.compile(
    r"\b(Sections?|Articles?|Rules?|Order)\s+\d+[A-Z]?(?:\s*\(\w+\))*"
    r"(?:(?:\s*,\s*|\s+and\s+|\s*/\s*)\d+[A-Z]?(?:\s*\(\w+\))*)*"
)
HEADER_LINES = 6  # title, court, blank, date, case number, bench


def query_doc(query_id: str) -> str:
    """The judgment a `CITING_<doc id>` query was made from (the id itself otherwise)."""
    return query_id.removeprefix(PREFIX)


def resolve_citations(docs: SourceDocs) -> dict[str, set[str]]:
    """Which judgments of the source each judgment cites.

    Args:
        docs: the judgments (title on the first line, decision date within the next four).

    Returns:
        citing id -> cited ids (only citations that resolve to another judgment of `docs`).
    """
    titles: dict[str, set[str]] = {}
    by_year: dict[int, list[str]] = defaultdict(list)
    df: Counter[str] = Counter()
    for doc, text in zip(docs.ids, docs.texts, strict=True):
        lines = text.splitlines()
        titles[doc] = set(_WORD.findall(lines[0].lower())) - _TITLE_STOP if lines else set()
        df.update(titles[doc])
        year = _YEAR.search("\n".join(lines[1:5]))
        if year:
            by_year[int(year.group(1))].append(doc)
    n = len(docs.ids)

    def idf(word: str) -> float:
        return math.log(n / (1 + df[word])) + 1

    links: dict[str, set[str]] = defaultdict(set)
    for doc, text in zip(docs.ids, docs.texts, strict=True):
        for ref in _REFERENCE.finditer(text):
            before = set(_WORD.findall(text[max(0, ref.start() - 200) : ref.start()].lower()))
            best, best_share = None, 0.0
            for candidate in by_year.get(int(ref.group(1)), ()):
                words = titles[candidate]
                if candidate == doc or not words:
                    continue
                share = sum(idf(w) for w in words & before) / sum(idf(w) for w in words)
                if share > best_share:
                    best, best_share = candidate, share
            if best is not None and best_share >= TITLE_SHARE:
                links[doc].add(best)
    return dict(links)


def fact_query(text: str, words: int = QUERY_WORDS) -> str:
    """A judgment's opening `words` words without its citations, provision numbers masked."""
    body = "\n".join(text.splitlines()[HEADER_LINES:])
    kept: list[str] = []
    for sentence in _SENTENCE.split(body):
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
