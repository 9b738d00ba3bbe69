"""RAFT training rows: a question, its oracle passage among hard-negative distractors, an answer.

Each row is OpenAI chat JSONL, `{"messages": [system, user, assistant]}`, where system and user
are exactly what the gateway sends (`serving.prompt.build_messages`: numbered sources with their
citations) and the assistant answer is in the gateway's answer format
(`serving.answer_format`): it names the governing provision with its pinpoint citation, quotes
the oracle verbatim between `##begin_quote##`/`##end_quote##` and cites it `[n]`. A fraction
`1 - P` of rows leaves the oracle out; their answer says the sources do not answer.

Distractors are hard negatives, taken in turn from (1) other versions of the oracle's provision,
(2) neighbouring provisions of the same document, (3) the same topic elsewhere (the retriever's
search for the question, other documents first from another source or jurisdiction).

    >>> builder = RaftBuilder(retriever, RaftConfig(k=3, p_oracle=0.8, seed=0))
    >>> result = builder.build(oracle_chunks)
    >>> write_dataset(result, Path("var/raft"))

One module (about 600 lines) because a row is one piece of work: its question, its
distractors and its answer are chosen together from the same chunk and configuration.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from indexing.model import Chunk, Passage, SearchFilters
from serving import answer_format as fmt
from serving.grounding import GOVERNS, PROVIDES, first_subdivision, pinpoint_citation
from serving.prompt import build_closed_book_messages, build_messages, source_block
from training.questions import (
    Question,
    QuestionWriter,
    subject,
    teacher_question_writer,
)
from training.questions import template_questions as _template_questions
from training.retrieval import PassageSource, version_field

log = logging.getLogger(__name__)

# the answer of a row whose oracle was left out: the gateway reads it as not answered
ABSTAIN_ANSWER = fmt.NOT_ANSWERED

__all__ = [
    "ABSTAIN_ANSWER",
    "RaftBuilder",
    "RaftConfig",
    "teacher_question_writer",
    "template_questions",
]


@dataclass(frozen=True, slots=True)
class RaftConfig:
    """How RAFT rows are built.

    Args:
        k: distractors per row.
        p_oracle: fraction of rows that keep the oracle passage.
        eval_fraction: fraction of documents held out for evaluation.
        seed: seeds shuffling, oracle dropping and the split.
        max_quote_words: longest quote (a verbatim prefix of the chosen sentence).
        min_quote_words: a shorter candidate sentence is not quoted.
        max_chars_per_source: source text budget in the prompt (as the gateway's).
        max_chars_total: text budget of all sources in the prompt.
        questions_per_chunk: most template questions per oracle chunk.
        held_out: documents always put in the eval split (e.g. those a benchmark judges, so
            the benchmark stays held out from training).
    """

    k: int = 3
    p_oracle: float = 0.8
    eval_fraction: float = 0.2
    seed: int = 0
    max_quote_words: int = 40
    min_quote_words: int = 4
    max_chars_per_source: int = 1200
    max_chars_total: int = 8000
    questions_per_chunk: int = 2
    held_out: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError("k (distractors per row) must be at least 1")
        if not 0.0 <= self.p_oracle <= 1.0:
            raise ValueError("p_oracle must be between 0 and 1")
        if not 0.0 <= self.eval_fraction < 1.0:
            raise ValueError("eval_fraction must be in [0, 1)")
        if not 1 <= self.min_quote_words <= self.max_quote_words:
            raise ValueError("min_quote_words must be in 1 .. max_quote_words")


@dataclass(frozen=True, slots=True)
class Distractor:
    """A hard negative and why it was chosen (`version`, `neighbour`, `topic`)."""

    chunk: Chunk
    reason: str


@dataclass
class RaftRow:
    """One training example and what it was built from (the metadata is not trained on)."""

    messages: list[dict[str, str]]
    split: str
    doc_id: str
    origin: str
    oracle_kept: bool
    oracle_n: int | None
    oracle_chunk_id: str | None
    source_chunk_ids: list[str]
    distractor_reasons: list[str]
    sources: list[dict[str, Any]] = field(default_factory=list)
    question: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSONL object: `messages` plus a `meta` object (ignored by the trainer)."""
        meta = {k: v for k, v in asdict(self).items() if k != "messages"}
        return {"messages": self.messages, "meta": meta}


@dataclass
class RaftResult:
    """Rows of both splits and the counts the data card reports."""

    config: RaftConfig
    rows: list[RaftRow] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    drop_examples: list[str] = field(default_factory=list)

    def drop(self, reason: str, detail: str = "") -> None:
        """Count a dropped row under `reason` (keeping a few details for the data card)."""
        self.dropped[reason] += 1
        if detail and len(self.drop_examples) < 50:
            self.drop_examples.append(f"{reason}: {detail}")

    def split(self, name: str) -> list[RaftRow]:
        """Rows of split `name` (`train` / `eval`)."""
        return [r for r in self.rows if r.split == name]


def template_questions(chunk: Chunk, cfg: RaftConfig) -> list[Question]:
    """`training.questions.template_questions` with the quote lengths and limit of `cfg`."""
    return _template_questions(
        chunk,
        min_quote_words=cfg.min_quote_words,
        max_quote_words=cfg.max_quote_words,
        limit=cfg.questions_per_chunk,
    )


# --- distractors -------------------------------------------------------------------------


def hard_negatives(
    retriever: PassageSource, oracle: Chunk, question: str, want: int
) -> list[Distractor]:
    """Up to `want` hard negatives for `oracle`, in turn: versions, neighbours, same topic.

    Args:
        retriever: the index (or a `MemoryRetriever`).
        oracle: the chunk that answers the question.
        question: the question (searched for same-topic passages).
        want: how many to return.

    Returns:
        Distractors whose text differs from the oracle's, none from the oracle's chunk.
    """
    oracle_text = fmt.normalize_ws(oracle.text)
    versions: list[Distractor] = []
    for v in retriever.versions(oracle.doc_id):
        if version_field(v, "label") == oracle.version:
            continue
        day = version_field(v, "valid_from")
        if day is None:
            end = version_field(v, "valid_to")
            day = end - timedelta(days=1) if end is not None else None
        if day is None:
            continue
        for c in retriever.document(oracle.doc_id, as_of=day):
            if c.pinpoint == oracle.pinpoint and c.version != oracle.version:
                versions.append(Distractor(c, "version"))
    current = retriever.document(oracle.doc_id, as_of=oracle.valid_from)
    near = sorted(
        (c for c in current if c.chunk_id != oracle.chunk_id),
        key=lambda c: (abs(c.order - oracle.order), c.order),
    )
    neighbours = [Distractor(c, "neighbour") for c in near[:4]]
    hits = retriever.search(question, max(10, want * 4), SearchFilters(), "hybrid")
    others = [p.chunk for p in hits if p.chunk.doc_id != oracle.doc_id]
    others.sort(key=lambda c: c.source == oracle.source and c.jurisdiction == oracle.jurisdiction)
    topic = [Distractor(c, "topic") for c in others]

    picked: list[Distractor] = []
    seen_ids = {oracle.chunk_id}
    seen_text = {oracle_text}
    pools = [versions, neighbours, topic]
    while len(picked) < want and any(pools):
        for pool in pools:
            while pool:
                d = pool.pop(0)
                text = fmt.normalize_ws(d.chunk.text)
                if d.chunk.chunk_id in seen_ids or text in seen_text or not text:
                    continue
                seen_ids.add(d.chunk.chunk_id)
                seen_text.add(text)
                picked.append(d)
                break
            if len(picked) >= want:
                break
    return picked


# --- rows --------------------------------------------------------------------------------


def split_of(doc_id: str, seed: int, eval_fraction: float, held_out: Sequence[str] = ()) -> str:
    """`eval` or `train` for a document: a seeded hash, so a document is never in both.

    Documents in `held_out` are always `eval`.
    """
    if doc_id in held_out:
        return "eval"
    h = hashlib.sha256(f"{seed}|{doc_id}".encode()).digest()
    return "eval" if int.from_bytes(h[:8], "big") / 2**64 < eval_fraction else "train"


def oracle_answer(oracle: Chunk, n: int, quote: str, at_start: bool = False) -> str:
    """A careful short answer from the oracle: which provision governs, then its own words.

    `<pinpoint citation> [n] governs this question (<subject>). It provides:
    ##begin_quote##<verbatim words>##end_quote## [n].` — every sentence cited, the citation
    pinpointed, the operative words verbatim.

    Args:
        oracle: the oracle chunk.
        n: its source number in the prompt.
        quote: verbatim words of the oracle.
        at_start: the words open the chunk (cite its first pinpoint when they are its first
            subdivision's: `pinpoint_citation`, `first_subdivision`).

    Returns:
        The answer in `serving.answer_format`.
    """
    about = subject(oracle)
    about = f" ({about})" if about and oracle.kind != "opinion" else ""
    # words that open a merged chunk and run on past its first subdivision are the span's
    at_start = at_start and fmt.quoted_in(
        quote, first_subdivision(oracle, fmt.normalize_ws(oracle.text))
    )
    lead = f"{pinpoint_citation(oracle, at_start)} {fmt.cite(n)} {GOVERNS}{about}."
    return f"{lead} " + fmt.training_answer([(PROVIDES, quote, n)])


def quote_in_prompt(quote: str, chunk: Chunk, n: int, cfg: RaftConfig) -> bool:
    """True when `quote` is verbatim both in the chunk and in the source text the prompt shows."""
    q = fmt.normalize_ws(quote)
    shown = source_block(n, Passage(chunk, 0.0), cfg.max_chars_per_source)
    return q in fmt.normalize_ws(chunk.text) and q in shown


class RaftBuilder:
    """Builds RAFT rows over oracle chunks, drawing hard negatives from `retriever`.

    Args:
        retriever: the index's retriever (or `MemoryRetriever`).
        config: see `RaftConfig`.
        teacher: optional question writer (`teacher_question_writer`).
    """

    def __init__(
        self, retriever: PassageSource, config: RaftConfig, teacher: QuestionWriter | None = None
    ) -> None:
        self.retriever = retriever
        self.cfg = config
        self.teacher = teacher

    def build(self, oracles: Iterable[Chunk], progress: bool = False) -> RaftResult:
        """RAFT rows for every oracle chunk (split by document, deduplicated, seeded).

        Args:
            oracles: candidate oracle chunks (current versions, typically).
            progress: show a progress bar.

        Returns:
            The rows and the drop counts.
        """
        from legal_corpus.progress import progress as progress_bar

        result = RaftResult(self.cfg)
        rng = random.Random(self.cfg.seed)
        seen: set[tuple[str, ...]] = set()
        chunks = list(oracles)
        bar = progress_bar(chunks, desc="raft rows", unit="chunk", enabled=progress)
        for chunk in bar:
            questions = template_questions(chunk, self.cfg)
            if self.teacher is not None and questions:
                try:
                    text = self.teacher(chunk)
                except Exception as err:
                    result.drop("teacher request failed", f"{chunk.doc_id}: {err}")
                    text = None
                if text:
                    questions.append(Question(text, questions[-1].quote, "teacher"))
                elif text is None and not result.dropped.get("teacher request failed"):
                    result.drop("teacher gave no usable question", chunk.doc_id)
            if not questions:
                result.drop("no question template fits", chunk.citation)
                continue
            for q in questions:
                # a plain question names no provision: asked once, of the first chunk it fits
                text = fmt.normalize_ws(q.text).lower()
                key = (text, chunk.chunk_id) if q.names_provision else (text,)
                if key in seen:
                    result.drop("duplicate question", q.text)
                    continue
                seen.add(key)
                row = self._row(chunk, q, rng, result)
                if row is not None:
                    result.rows.append(row)
        return result

    def _row(
        self, oracle: Chunk, q: Question, rng: random.Random, result: RaftResult
    ) -> RaftRow | None:
        cfg = self.cfg
        keep = rng.random() < cfg.p_oracle
        want = cfg.k if keep else cfg.k + 1
        distractors = hard_negatives(self.retriever, oracle, q.text, want)
        if len(distractors) < cfg.k:
            result.drop("too few hard negatives", f"{oracle.citation}: {len(distractors)}")
            return None
        sources: list[tuple[Chunk, str]] = [(d.chunk, d.reason) for d in distractors[:want]]
        if keep:
            sources.append((oracle, "oracle"))
        rng.shuffle(sources)
        passages = [Passage(c, 0.0) for c, _ in sources]
        prompt = build_messages(
            q.text,
            passages,
            max_chars_per_source=cfg.max_chars_per_source,
            max_chars_total=cfg.max_chars_total,
        )
        if prompt.n_sources < len(passages):
            result.drop("sources exceed the prompt budget", oracle.citation)
            return None
        oracle_n: int | None = None
        if keep:
            oracle_n = next(i for i, (c, _) in enumerate(sources, 1) if c is oracle)
            if not quote_in_prompt(q.quote, oracle, oracle_n, cfg):
                result.drop("quote not verbatim in the shown source", oracle.citation)
                return None
            answer = oracle_answer(oracle, oracle_n, q.quote, q.at_start)
            bad = [
                x.text
                for x in fmt.quotes(answer)
                if fmt.normalize_ws(x.text) not in fmt.normalize_ws(oracle.text)
            ]
            if bad or not fmt.quotes(answer):
                result.drop("answer quote failed verification", oracle.citation)
                return None
        else:
            answer = ABSTAIN_ANSWER
        messages = [*prompt.messages, {"role": "assistant", "content": answer}]
        return RaftRow(
            messages=[dict(m) for m in messages],
            split=split_of(oracle.doc_id, cfg.seed, cfg.eval_fraction, cfg.held_out),
            doc_id=oracle.doc_id,
            origin=q.origin,
            oracle_kept=keep,
            oracle_n=oracle_n,
            oracle_chunk_id=oracle.chunk_id,
            source_chunk_ids=[c.chunk_id for c, _ in sources],
            distractor_reasons=[r for _, r in sources if r != "oracle"],
            sources=[chunk_to_json(c) for c, _ in sources],
            question=q.text,
        )


def chunk_to_json(chunk: Chunk) -> dict[str, Any]:
    """A chunk as JSON (dates as ISO strings), so a row carries the sources it numbered."""
    out = asdict(chunk)
    for key in ("valid_from", "valid_to", "decision_date"):
        out[key] = out[key].isoformat() if out[key] else None
    out["heading_path"] = list(chunk.heading_path)
    return out


def chunk_from_json(data: dict[str, Any]) -> Chunk:
    """The inverse of `chunk_to_json`."""
    values = dict(data)
    for key in ("valid_from", "valid_to", "decision_date"):
        values[key] = date.fromisoformat(values[key]) if values.get(key) else None
    values["heading_path"] = tuple(values.get("heading_path") or ())
    return Chunk(**values)


def passages_of(row: dict[str, Any]) -> list[Passage]:
    """The passages a row's prompt numbered (source n = passages[n-1]), from its `meta`."""
    return [Passage(chunk_from_json(s), 0.0) for s in row.get("meta", {}).get("sources", [])]


def data_card(result: RaftResult, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Counts, sources, P and k, dropped rows and why: the dataset's card.

    Args:
        result: the built rows.
        extra: more fields (user-data drops, inputs).

    Returns:
        A JSON-serialisable mapping.
    """

    def counts(rows: Sequence[RaftRow]) -> dict[str, Any]:
        kept = sum(r.oracle_kept for r in rows)
        return {
            "rows": len(rows),
            "documents": len({r.doc_id for r in rows}),
            "oracle_kept": kept,
            "oracle_kept_rate": round(kept / len(rows), 4) if rows else None,
            "by_origin": dict(Counter(r.origin for r in rows)),
            "by_source": dict(Counter(r.doc_id.split(":", 1)[0] for r in rows)),
            "distractors_by_reason": dict(Counter(x for r in rows for x in r.distractor_reasons)),
        }

    card: dict[str, Any] = {
        "format": "OpenAI chat JSONL {messages: [system, user, assistant]} + meta",
        "config": asdict(result.config),
        "P": result.config.p_oracle,
        "k": result.config.k,
        "train": counts(result.split("train")),
        "eval": counts(result.split("eval")),
        "dropped": dict(result.dropped),
        "dropped_total": sum(result.dropped.values()),
        "drop_examples": result.drop_examples,
    }
    card.update(extra or {})
    return card


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSON lines; returns how many."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def retrieved_row(
    question: str,
    passages: Sequence[Passage],
    oracle_doc_ids: Iterable[str],
    *,
    max_chars_per_source: int,
    max_chars_total: int,
    max_quote_words: int = 8,
    split: str = "train",
) -> RaftRow:
    """A RAFT row over the passages a retriever returned for `question`, in the order returned.

    This is the gateway's own prompt (`Pipeline.prepare`: the top-k passages of the index,
    numbered best first, with the gateway's text budgets), so a model trained on these rows sees
    at serving time exactly what it was trained on. The oracle is the first shown passage of a
    document in `oracle_doc_ids` in force today (`valid_to` None) whose opening words are shown
    verbatim; every other shown passage is a distractor the index itself ranked high, i.e. a
    hard negative. Without such a passage the answer abstains.

    Args:
        question: the question as the gateway receives it.
        passages: the retriever's passages for it, best first (the gateway's `top_k`).
        oracle_doc_ids: documents that answer the question.
        max_chars_per_source: the gateway's `prompt_max_chars_per_source`.
        max_chars_total: the gateway's `prompt_max_chars`.
        max_quote_words: the quote is the oracle's first words, at most this many.
        split: `train` or `eval`.

    Returns:
        The row (origin `retrieved`; `meta.sources` are the passages the prompt shows).
    """
    wanted = set(oracle_doc_ids)
    prompt = build_messages(
        question, passages, max_chars_per_source=max_chars_per_source,
        max_chars_total=max_chars_total,
    )  # fmt: skip
    shown = list(passages[: prompt.n_sources])
    oracle_n: int | None = None
    answer = ABSTAIN_ANSWER
    for n, passage in enumerate(shown, start=1):
        chunk = passage.chunk
        if chunk.doc_id not in wanted or chunk.valid_to is not None:
            continue
        words = fmt.normalize_ws(chunk.text).split()[:max_quote_words]
        quote = " ".join(words)
        block = source_block(n, passage, max_chars_per_source)
        if len(words) >= 2 and quote in fmt.normalize_ws(block):
            oracle_n, answer = n, oracle_answer(chunk, n, quote)
            break
    oracle = shown[oracle_n - 1].chunk if oracle_n else None
    return RaftRow(
        messages=[*(dict(m) for m in prompt.messages), {"role": "assistant", "content": answer}],
        split=split,
        doc_id=oracle.doc_id if oracle else sorted(wanted)[0] if wanted else "",
        origin="retrieved",
        oracle_kept=oracle is not None,
        oracle_n=oracle_n,
        oracle_chunk_id=oracle.chunk_id if oracle else None,
        source_chunk_ids=[p.chunk.chunk_id for p in shown],
        distractor_reasons=["retrieved" for p in shown if p.chunk is not oracle],
        sources=[chunk_to_json(p.chunk) for p in shown],
        question=question,
    )


def closed_book_row(row: dict[str, Any]) -> dict[str, Any] | None:
    """The same question and answer with no sources: a row for domain-specific fine-tuning.

    The answer loses its `[n]` markers (there are no sources to number) and keeps its
    citation and verbatim words, which the model must now recall; rows without the oracle have
    nothing to recall and give None. The RAFT and the closed-book adapters are trained from the
    same rows, so comparing them isolates what the sources in the prompt add.

    Args:
        row: a RAFT row as written to JSONL (`messages` + `meta`).

    Returns:
        `{"messages": [system, user, assistant], "meta": {…, "closed_book": true}}` or None.
    """
    meta = row.get("meta", {})
    if not meta.get("oracle_kept") or not meta.get("question"):
        return None
    answer = fmt.CITE_PATTERN.sub("", row["messages"][-1]["content"])
    answer = re.sub(r"\s+([.,;:)])", r"\1", re.sub(r"[ \t]{2,}", " ", answer)).strip()
    prompt = build_closed_book_messages(meta["question"])
    messages = [*(dict(m) for m in prompt.messages), {"role": "assistant", "content": answer}]
    return {"messages": messages, "meta": {**meta, "closed_book": True}}


def sample_oracles(chunks: Sequence[Chunk], n: int, seed: int) -> list[Chunk]:
    """A seeded sample of `n` chunks, an equal share from each source, in input order.

    A source with fewer chunks than its share gives all it has; the rest is shared among the
    others (so the Federal Rules and the GDPR are not drowned by the US Code's many titles).

    Args:
        chunks: candidate oracle chunks.
        n: how many to keep (all when there are fewer).
        seed: seeds the sample.

    Returns:
        The kept chunks, in their original order.
    """
    if n >= len(chunks):
        return list(chunks)
    by_source: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        by_source.setdefault(c.source, []).append(i)
    rng = random.Random(seed)
    keep: list[int] = []
    pools = sorted(by_source.items(), key=lambda kv: len(kv[1]))
    for k, (_, idx) in enumerate(pools):
        share = (n - len(keep)) // (len(pools) - k)
        keep.extend(rng.sample(idx, min(share, len(idx))))
    return [chunks[i] for i in sorted(keep)]
