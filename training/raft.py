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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from indexing.model import Chunk, Passage, SearchFilters
from indexing.text import CLAUSES, split_sentences
from serving import answer_format as fmt
from serving.prompt import build_messages, source_block
from training.retrieval import PassageSource, version_field

log = logging.getLogger(__name__)

ABSTAIN_ANSWER = (
    "The sources given do not answer this question: none of them addresses it, so I cannot "
    "answer it from them."
)
ABSTAIN_PATTERN = re.compile(r"sources given do not answer", re.IGNORECASE)

# `"X" means …` / `the term “X” means …` (17 U.S.C. § 101, GDPR Art. 4 uses ‘X’ means).
_DEFINITION = re.compile(
    r"(?:[\"“”]|[‘’']{1,2})([^\"“”‘’']{2,60})(?:[\"“”]|[‘’']{1,2})\s+(?:means|includes|refers to)\b"
)
_APPLY = re.compile(r"\b(?:shall apply|applies|does not apply|shall not apply|apply)\b", re.I)

QuestionWriter = Callable[[Chunk], str | None]


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
class Question:
    """A question about one oracle chunk and the verbatim words that answer it."""

    text: str
    quote: str
    origin: str  # template:<name> | teacher


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


# --- questions ---------------------------------------------------------------------------


def _clip_words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[:n])


def _sentences(text: str) -> list[str]:
    return split_sentences(fmt.normalize_ws(text), CLAUSES)


def _quote_from(sentence: str, cfg: RaftConfig) -> str | None:
    words = sentence.split()
    if len(words) < cfg.min_quote_words:
        return None
    quote = _clip_words(sentence, cfg.max_quote_words).rstrip(",;:")
    # Quote markers and brackets in a quote would confuse the answer format.
    if fmt.QUOTE_BEGIN in quote or fmt.QUOTE_END in quote or fmt.CITE_PATTERN.search(quote):
        return None
    return quote


def _heading(chunk: Chunk) -> str:
    return chunk.heading_path[-1] if chunk.heading_path else chunk.title


def template_questions(chunk: Chunk, cfg: RaftConfig) -> list[Question]:
    """Questions templated from the chunk's legal structure, each with its verbatim answer.

    Templates: defined terms (`"X" means …` → what does "X" mean under <citation>?), "when does
    … apply" (a sentence about application), the heading ("what does <citation> (<heading>)
    provide?"), and for opinions "what did the court say in <case> at <pinpoint>?".

    Args:
        chunk: the oracle chunk.
        cfg: the RAFT configuration (quote length).

    Returns:
        Up to `cfg.questions_per_chunk` questions, most specific first.
    """
    out: list[Question] = []
    sentences = _sentences(chunk.text)
    cite = chunk.citation or chunk.doc_citation
    for sentence in sentences:
        m = _DEFINITION.search(sentence)
        if m:
            q = _quote_from(sentence[m.start() :], cfg)
            if q:
                term = m.group(1).strip()
                out.append(
                    Question(f"What does “{term}” mean under {cite}?", q, "template:defined-term")
                )
                break
    for sentence in sentences:
        if _APPLY.search(sentence):
            q = _quote_from(sentence, cfg)
            if q:
                out.append(Question(f"When does {cite} apply?", q, "template:when-apply"))
                break
    first = next((q for q in (_quote_from(s, cfg) for s in sentences) if q), None)
    if first:
        heading = _heading(chunk)
        if chunk.kind == "opinion":
            where = f" at {chunk.pinpoint}" if chunk.pinpoint else ""
            text = f"What did the court say in {chunk.title}{where}?"
            out.append(Question(text, first, "template:opinion"))
        elif heading and heading.lower() not in cite.lower():
            out.append(
                Question(f"What does {cite} ({heading}) provide?", first, "template:heading")
            )
        else:
            out.append(Question(f"What does {cite} provide?", first, "template:provide"))
    return out[: cfg.questions_per_chunk]


def teacher_question_writer(
    base_url: str, model: str, timeout: float = 60.0, api_key: str | None = None
) -> QuestionWriter:
    """A question writer that asks a teacher model through the OpenAI-compatible chat API.

    Args:
        base_url: the server root (`http://host:8000`; `/v1` is added when missing).
        model: the served model name.
        timeout: seconds per request.
        api_key: bearer token, if the server wants one.

    Returns:
        A function chunk -> question (None when the teacher's reply is unusable).
    """
    import httpx

    root = base_url.rstrip("/")
    url = (root if root.endswith("/v1") else root + "/v1") + "/chat/completions"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    client = httpx.Client(timeout=timeout, headers=headers)

    def write(chunk: Chunk) -> str | None:
        passage = fmt.normalize_ws(chunk.text)[:1500]
        body = {
            "model": model,
            "messages": [
                {
                    "role": "system",
                    "content": "You write one question a lawyer could answer from a legal "
                    "passage. Reply with the question only, on one line.",
                },
                {"role": "user", "content": f"{chunk.citation}\n{passage}\n\nQuestion:"},
            ],
            "max_tokens": 64,
            "temperature": 0.0,
        }
        resp = client.post(url, json=body)
        resp.raise_for_status()
        content = resp.json()["choices"][0]["message"]["content"] or ""
        line = next((ln.strip() for ln in content.splitlines() if ln.strip()), "")
        line = line.replace(fmt.QUOTE_BEGIN, "").replace(fmt.QUOTE_END, "").strip()
        return line if len(line.split()) >= 3 else None

    return write


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


def split_of(doc_id: str, seed: int, eval_fraction: float) -> str:
    """`eval` or `train` for a document: a seeded hash, so a document is never in both."""
    h = hashlib.sha256(f"{seed}|{doc_id}".encode()).digest()
    return "eval" if int.from_bytes(h[:8], "big") / 2**64 < eval_fraction else "train"


def oracle_answer(oracle: Chunk, n: int, quote: str) -> str:
    """The answer for a row that keeps the oracle: the governing provision, a quote, `[n]`.

    Args:
        oracle: the oracle chunk.
        n: its source number in the prompt.
        quote: verbatim words of the oracle.

    Returns:
        The answer in `serving.answer_format`.
    """
    cite = oracle.citation or oracle.doc_citation
    return f"The question is governed by {cite} {fmt.cite(n)}. " + fmt.training_answer(
        [("It provides:", quote, n)]
    )


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
        from tqdm import tqdm

        result = RaftResult(self.cfg)
        rng = random.Random(self.cfg.seed)
        seen: set[tuple[str, str]] = set()
        chunks = list(oracles)
        for chunk in tqdm(chunks, desc="raft rows", disable=not progress, unit="chunk"):
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
                key = (fmt.normalize_ws(q.text).lower(), chunk.chunk_id)
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
            answer = oracle_answer(oracle, oracle_n, q.quote)
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
            split=split_of(oracle.doc_id, cfg.seed, cfg.eval_fraction),
            doc_id=oracle.doc_id,
            origin=q.origin,
            oracle_kept=keep,
            oracle_n=oracle_n,
            oracle_chunk_id=oracle.chunk_id,
            source_chunk_ids=[c.chunk_id for c, _ in sources],
            distractor_reasons=[r for _, r in sources if r != "oracle"],
            sources=[chunk_to_json(c) for c, _ in sources],
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
    )
