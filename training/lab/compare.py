"""RAG vs fine-tuning vs RAFT on the user's own corpus: `python -m training compare`.

Five configurations answer the same held-out questions:

1. `base-closed` — the base model, closed book (no sources);
2. `base-rag` — the base model with the gateway's own retrieval and prompt;
3. `ft-closed` — an adapter fine-tuned on the same rows without sources (domain-specific
   fine-tuning), closed book;
4. `ft-rag` — that adapter with retrieval;
5. `raft-rag` — the RAFT adapter (`legal`) with retrieval.

Questions: the RAFT eval split (documents never trained on; each row carries its own sources,
the oracle among distractors or left out) and the lawyers' questions of
`indexing/eval/benchmarks` (RAG configurations retrieve for themselves through a real gateway
started in this process — its retrieval, prompt, token budget and verifier; closed-book ones get
nothing). Every answer is checked by the gateway's verifier (`serving.verify`); the measures and
their bootstrap intervals are in `training.lab.compare_report`.

    python -m training compare --vllm-url http://127.0.0.1:8001 --base-model base \\
        --ft-model closed-book --raft-model legal --out var/compare

Writes `DIR/report.md`, `DIR/report.png`, `DIR/summary.json` and `DIR/answers.jsonl` (every
answer with its verification, for audit).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from indexing.model import Passage
from serving import answer_format as fmt
from serving.answering import uncited
from serving.prompt import build_closed_book_messages
from serving.verify import CheckedCitation, Verifier
from training.jsonl import json_lines
from training.lab.compare_report import MEASURES, bar_chart, conclusions, markdown_table, summarise
from training.raft import passages_of

log = logging.getLogger(__name__)

TARGETS = {"raft_gain_points": 20.0, "precision": 0.95, "unknown": 0.01}
CHART_MEASURES = ("governing_verified", "citation_precision", "unknown_rate", "quotes_verbatim",
                  "unsupported_rate", "abstention")  # fmt: skip


class CompareError(ValueError):
    """A bad argument or input (unknown model, empty question file); exit code 2."""


@dataclass(frozen=True, slots=True)
class Setup:
    """One configuration: which served model, and whether it gets sources."""

    name: str
    label: str
    model: str
    rag: bool


@dataclass(frozen=True, slots=True)
class Item:
    """A question, the documents that govern it, and (RAFT rows) its own sources."""

    qid: str
    question_set: str  # raft | lawyers
    question: str
    governing: frozenset[str]
    row: dict[str, Any] | None = None

    @property
    def has_oracle(self) -> bool:
        """False for a RAFT row whose sources leave the governing passage out."""
        return self.row is None or bool(self.row["meta"].get("oracle_kept"))


@dataclass
class CompareConfig:
    """What `compare` runs (the command line's options)."""

    vllm_url: str
    base_model: str
    ft_model: str
    raft_model: str
    out: Path
    raft_eval: Path | None = None
    questions: Path | None = None
    qrels: Path | None = None
    limit_raft: int | None = 60
    limit_questions: int | None = None
    max_tokens: int = 160
    concurrency: int = 4
    top_k: int = 6
    max_chars_per_source: int = 700
    seed: int = 0
    targets: dict[str, float] = field(default_factory=lambda: dict(TARGETS))
    rerun: tuple[str, ...] = ()  # only these configurations; the others' answers are kept

    def setups(self) -> list[Setup]:
        """The five configurations."""
        return [
            Setup("base-closed", "base, closed book", self.base_model, False),
            Setup("base-rag", "base + RAG", self.base_model, True),
            Setup("ft-closed", "fine-tuned (no sources), closed book", self.ft_model, False),
            Setup("ft-rag", "fine-tuned (no sources) + RAG", self.ft_model, True),
            Setup("raft-rag", "RAFT + RAG", self.raft_model, True),
        ]


def spread(items: list[Item], limit: int | None) -> list[Item]:
    """`limit` items evenly spaced through `items` (all when `limit` is 0 or None): files are
    ordered by source and document, so the first N would all come from one title."""
    if not limit or limit >= len(items):
        return items
    return [items[i * len(items) // limit] for i in range(limit)]


def lawyers_items(queries: Path, qrels: Path, limit: int | None = None) -> list[Item]:
    """The lawyers' questions (`ID||text`) and their governing documents (grade 2, else 1)."""
    judged: dict[str, dict[str, int]] = {}
    for n, line in enumerate(qrels.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4:
            raise CompareError(f"{qrels}:{n}: expected `qid 0 docid rel`")
        judged.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    items = []
    for n, line in enumerate(queries.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        qid, sep, text = line.partition("||")
        if not sep or not text.strip():
            raise CompareError(f"{queries}:{n}: expected `ID||question`")
        grades = judged.get(qid.strip(), {})
        top = max(grades.values(), default=0)
        governing = frozenset(d for d, g in grades.items() if g == top and g > 0)
        if governing:
            items.append(Item(qid.strip(), "lawyers", text.strip(), governing))
    if not items:
        raise CompareError(f"{queries}: no judged questions (qrels {qrels})")
    return spread(items, limit)


def raft_items(path: Path, limit: int | None = None) -> list[Item]:
    """RAFT eval rows as questions (governing: the oracle's document when the row keeps it)."""
    items = []
    for n, row in json_lines(path):
        meta = row.get("meta", {}) if isinstance(row, dict) else {}
        if not meta.get("sources") or not meta.get("question"):
            raise CompareError(f"{path}:{n}: not a RAFT row (no meta.sources / meta.question)")
        governing = frozenset([meta["doc_id"]]) if meta.get("oracle_kept") else frozenset()
        items.append(Item(f"raft-{n}", "raft", meta["question"], governing, row))
    if not items:
        raise CompareError(f"{path}: no rows")
    return spread(items, limit)


def counts(
    answer: str,
    citations: Sequence[CheckedCitation],
    unsupported: int,
    item: Item,
    verbatim_override: int | None = None,
    sourced: bool = False,
) -> dict[str, int]:
    """The per-answer numbers every measure is a ratio of (see `compare_report.MEASURES`);
    `sourced`: the answer was written from passages given in its prompt."""
    written = [c for c in citations if c.kind in ("source", "legal")]
    quotes = len(fmt.quotes(answer))
    bad = sum(len(c.quotes) or 1 for c in written if c.status == "misquoted")
    sentences = sum(
        1
        for a, b in fmt.sentences(answer)
        if len(fmt.CITE_PATTERN.sub(" ", answer[a:b]).split()) >= 3
    )
    governing = item.governing
    return {
        "has_oracle": int(item.has_oracle),
        "no_oracle": int(not item.has_oracle),
        "governing_verified": int(
            item.has_oracle
            and any(c.status == "verified" and c.doc_id in governing for c in written)
        ),
        "governing_cited": int(
            item.has_oracle
            and any(
                c.status in ("verified", "in_corpus") and c.doc_id in governing for c in written
            )
        ),
        "citations": len(written),
        "citations_verified": sum(c.status == "verified" for c in written),
        "citations_unknown": sum(c.status == "unknown" for c in written),
        "quotes": quotes,
        "quotes_verbatim": verbatim_override
        if verbatim_override is not None
        else max(0, quotes - bad),
        "sentences": sentences,
        "unsupported": min(unsupported, sentences),
        "abstained": int(not item.has_oracle and fmt.says_not_answered(answer)),
        "sourced": int(sourced),
        # what the gateway sets aside for the passages quoted (`JURIS_SET_ASIDE_UNCITED`)
        "uncited": int(sourced and uncited(answer, citations)),
    }


def citation_of(data: dict[str, Any]) -> CheckedCitation:
    """A citation of a `/v1/ask` answer (its JSON) as the verifier's `CheckedCitation`."""
    return CheckedCitation(
        n=data.get("n"), kind=data["kind"], doc_id=data.get("doc_id"),
        citation=data.get("citation", ""), pinpoint=data.get("pinpoint", ""),
        anchor=data.get("anchor"), quotes=tuple(data.get("quotes") or ()),
        status=data["status"], text=data.get("text", ""), start=0,
    )  # fmt: skip


class Runner:
    """Asks one configuration one question and verifies the answer.

    Args:
        vllm_url: the OpenAI-compatible server.
        gateway_url: a Juris gateway over the same server and the index (RAG on lawyers'
            questions goes through it).
        gateway_key: its API key.
        verifier: the gateway's verifier over the index (for answers asked of vLLM directly).
        retriever: the index (closed-book quotes are checked against the documents cited).
        max_tokens: answer length limit.
    """

    def __init__(
        self, vllm_url: str, gateway_url: str, gateway_key: str, verifier: Verifier,
        retriever: Any, max_tokens: int,
    ) -> None:  # fmt: skip
        root = vllm_url.rstrip("/")
        self.api = root if root.endswith("/v1") else root + "/v1"
        self.gateway_url = gateway_url
        self.headers = {"Authorization": f"Bearer {gateway_key}"}
        self.verifier = verifier
        self.retriever = retriever
        self.max_tokens = max_tokens
        self.client = httpx.Client(timeout=httpx.Timeout(600, connect=10))

    def _chat(self, model: str, messages: list[dict[str, str]]) -> tuple[str, int | None, float]:
        body = {"model": model, "messages": messages, "max_tokens": self.max_tokens,
                "temperature": 0}  # fmt: skip
        start = time.perf_counter()
        resp = self.client.post(f"{self.api}/chat/completions", json=body)
        took = time.perf_counter() - start
        if resp.status_code != 200:
            raise RuntimeError(f"{model}: HTTP {resp.status_code}: {resp.text[:300]}")
        data = resp.json()
        usage = data.get("usage") or {}
        return (
            str(data["choices"][0]["message"]["content"] or ""),
            usage.get("completion_tokens"),
            took,
        )

    def _token_count(self, model: str, text: str) -> int | None:
        root = self.api.removesuffix("/v1")
        resp = self.client.post(f"{root}/tokenize", json={"model": model, "prompt": text,
                                                          "add_special_tokens": False})  # fmt: skip
        return resp.json().get("count") if resp.status_code == 200 else None

    def answer(self, setup: Setup, item: Item) -> dict[str, Any]:
        """The record of `setup` answering `item` (an `error` record if generation failed)."""
        record: dict[str, Any] = {
            "config": setup.name, "model": setup.model, "question_set": item.question_set,
            "qid": item.qid, "question": item.question, "governing": sorted(item.governing),
            "has_oracle": item.has_oracle,
        }  # fmt: skip
        try:
            if setup.rag and item.row is None:
                record.update(self._via_gateway(setup, item))
            elif setup.rag:
                record.update(self._with_row_sources(setup, item))
            else:
                record.update(self._closed_book(setup, item))
        except Exception as err:  # a failed answer is counted, never fatal to the run
            log.warning("%s on %s failed: %s", setup.name, item.qid, err)
            record["error"] = str(err)[:500]
        return record

    def _via_gateway(self, setup: Setup, item: Item) -> dict[str, Any]:
        start = time.perf_counter()
        resp = self.client.post(f"{self.gateway_url}/v1/ask", headers=self.headers,
                                json={"question": item.question, "model": setup.model})  # fmt: skip
        took = time.perf_counter() - start
        if resp.status_code != 200:
            raise RuntimeError(f"gateway HTTP {resp.status_code}: {resp.text[:300]}")
        body = resp.json()
        if body["mode"] != "llm":
            raise RuntimeError(
                f"the gateway answered {body['mode']} ({body.get('degraded_reason')})"
            )
        answer = body["answer_raw"]
        cited = [citation_of(c) for c in body["citations"]]
        return {
            "answer_raw": answer,
            "passages": [p["citation"] for p in body["passages"]],
            "passage_docs": [p["doc_id"] for p in body["passages"]],
            "citations": body["citations"],
            "latency_s": took,
            "generation_s": body["timings"].get("generation_s", took),
            "completion_tokens": self._token_count(setup.model, answer),
            "counts": counts(
                answer, cited, body["verification"]["unsupported_claims"], item, sourced=True
            ),
        }

    def _with_row_sources(self, setup: Setup, item: Item) -> dict[str, Any]:
        assert item.row is not None
        prompt = [m for m in item.row["messages"] if m["role"] != "assistant"]
        answer, tokens, took = self._chat(setup.model, prompt)
        passages = passages_of(item.row)
        report = self.verifier.verify(answer, passages)
        return self._record(answer, passages, report.citations, len(report.unsupported), item,
                            tokens, took)  # fmt: skip

    def _closed_book(self, setup: Setup, item: Item) -> dict[str, Any]:
        answer, tokens, took = self._chat(
            setup.model, list(build_closed_book_messages(item.question).messages)
        )
        report = self.verifier.verify(answer, [])
        # quotes verbatim: checked, by the same verifier, against the documents the answer cites
        cited_docs = {c.doc_id for c in report.citations if c.kind == "legal" and c.doc_id}
        cited: list[Passage] = []
        for doc_id in sorted(cited_docs):
            try:
                cited.extend(Passage(c, 0.0) for c in self.retriever.document(doc_id))
            except Exception:
                log.exception("document %s", doc_id)
        second = self.verifier.verify(answer, cited) if cited else report
        verbatim = sum(
            len(c.quotes) for c in second.citations if c.kind == "source" and c.status == "verified"
        ) if cited else 0  # fmt: skip
        return self._record(answer, [], report.citations, len(report.unsupported), item, tokens,
                            took, verbatim)  # fmt: skip

    def _record(
        self, answer: str, passages: Sequence[Passage], citations: Sequence[CheckedCitation],
        unsupported: int, item: Item, tokens: int | None, took: float,
        verbatim: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        return {
            "answer_raw": answer,
            "passages": [p.chunk.citation for p in passages],
            "passage_docs": [p.chunk.doc_id for p in passages],
            "citations": [{k: v for k, v in asdict(c).items() if k != "start"} for c in citations],
            "latency_s": took,
            "generation_s": took,
            "completion_tokens": tokens,
            "counts": counts(answer, citations, unsupported, item, verbatim, bool(passages)),
        }


def check_models(vllm_url: str, names: Sequence[str]) -> list[str]:
    """The served model names; raises `CompareError` naming any of `names` not served."""
    root = vllm_url.rstrip("/")
    api = root if root.endswith("/v1") else root + "/v1"
    try:
        data = httpx.get(f"{api}/models", timeout=15).json()
    except (httpx.HTTPError, ValueError) as err:
        raise CompareError(f"cannot list the models of {vllm_url}: {err}") from None
    served = [m.get("id") for m in data.get("data", [])]
    missing = [n for n in dict.fromkeys(names) if n not in served]
    if missing:
        raise CompareError(f"model(s) {missing} not served by {vllm_url}; it serves {served}")
    return served


def run_compare(cfg: CompareConfig, retriever: Any, progress: bool = True) -> dict[str, Any]:
    """Run every configuration on every question; write the report files into `cfg.out`.

    Args:
        cfg: what to run.
        retriever: the index the gateway retrieves from and the verifier resolves against.
        progress: progress bar / log lines.

    Returns:
        The summary (also `cfg.out / "summary.json"`).

    Raises:
        CompareError: an unknown model name, or no questions.
    """
    from legal_corpus.citations import parse_citations
    from legal_corpus.progress import progress as progress_bar
    from training.lab.gateway import measuring_gateway

    check_models(cfg.vllm_url, [cfg.base_model, cfg.ft_model, cfg.raft_model])
    items: list[Item] = []
    if cfg.raft_eval is not None:
        items += raft_items(cfg.raft_eval, cfg.limit_raft)
    if cfg.questions is not None and cfg.qrels is not None:
        items += lawyers_items(cfg.questions, cfg.qrels, cfg.limit_questions)
    if not items:
        raise CompareError("no questions: give --raft-eval and/or --questions with --qrels")
    verifier = Verifier(retriever, parse_citations)
    setups = cfg.setups()
    records = kept_records(cfg, setups, items)
    run = [s for s in setups if not cfg.rerun or s.name in cfg.rerun]
    started = time.perf_counter()
    with measuring_gateway(
        retriever, cfg.vllm_url, cfg.out, cfg.max_tokens,
        top_k=cfg.top_k, prompt_max_chars_per_source=cfg.max_chars_per_source,
        overrule_decline_from=0,  # what the model wrote is measured, its declines included
    ) as (url, key):  # fmt: skip
        runner = Runner(cfg.vllm_url, url, key, verifier, retriever, cfg.max_tokens)
        bar = progress_bar(
            total=len(items) * len(run), desc="compare", unit="answer", enabled=progress
        )
        # one served model at a time: vLLM's CPU build applies a LoRA adapter to base-model
        # requests batched with adapter requests (see serving/generators/vllm.py, ModelGate)
        for model in dict.fromkeys(s.model for s in run):
            jobs = [(s, it) for s in run if s.model == model for it in items]
            with ThreadPoolExecutor(max_workers=max(1, cfg.concurrency)) as pool:
                for record in pool.map(lambda job: runner.answer(*job), jobs):
                    records.append(record)
                    bar.update(1)
        bar.close()
    return write_report(cfg, setups, items, records, time.perf_counter() - started)


def kept_records(
    cfg: CompareConfig, setups: Sequence[Setup], items: Sequence[Item]
) -> list[dict[str, Any]]:
    """With `cfg.rerun`, the answers of the other configurations from `out/answers.jsonl`.

    Raises:
        CompareError: an unknown configuration name, or no earlier answers for the same
            questions.
    """
    if not cfg.rerun:
        return []
    names = {s.name for s in setups}
    if unknown := sorted(set(cfg.rerun) - names):
        raise CompareError(f"--rerun {', '.join(unknown)}: not one of {', '.join(sorted(names))}")
    path = cfg.out / "answers.jsonl"
    if not path.is_file():
        raise CompareError(f"--rerun needs the earlier answers in {path}")
    kept = [r for _, r in json_lines(path) if r.get("config") not in cfg.rerun]
    want = {it.qid for it in items}
    for name in names - set(cfg.rerun):
        have = {r["qid"] for r in kept if r["config"] == name}
        if have != want:
            raise CompareError(
                f"{path}: the answers of {name} are not for the same questions "
                f"({len(have)} kept, {len(want)} asked); run every configuration"
            )
    return kept


def write_report(
    cfg: CompareConfig, setups: Sequence[Setup], items: Sequence[Item],
    records: Sequence[dict[str, Any]], wall_s: float,
) -> dict[str, Any]:  # fmt: skip
    """`answers.jsonl`, `summary.json`, `report.md` and `report.png` from the answer records."""
    with (cfg.out / "answers.jsonl").open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    labels = {s.name: f"{s.label} (`{s.model}`)" for s in setups}
    sets = [q for q in ("raft", "lawyers") if any(i.question_set == q for i in items)]
    summaries = [
        summarise(
            s.name,
            q,
            [r for r in records if r["config"] == s.name and r["question_set"] == q],
            seed=cfg.seed,
        )
        for q in sets
        for s in setups
    ]
    names = {"raft": "RAFT eval split (documents never trained on)", "lawyers": "lawyers'"}
    parts = [
        "# RAG vs fine-tuning vs RAFT, measured on this corpus\n",
        f"Models served by `{cfg.vllm_url}`: base `{cfg.base_model}`, fine-tuned without sources "
        f"`{cfg.ft_model}`, RAFT `{cfg.raft_model}`. Greedy decoding, at most {cfg.max_tokens} "
        f"tokens; RAG = the gateway's retrieval (top {cfg.top_k}) and prompt "
        f"({cfg.max_chars_per_source} characters per source). Every figure is computed from the "
        "gateway's citation verifier; brackets are 95% bootstrap intervals over questions. "
        + (
            f"{len(records)} answers; {', '.join(cfg.rerun)} re-measured in {wall_s / 60:.1f} "
            "min, the others' answers kept from the earlier run (`--rerun`; their latency and "
            "tokens/s are that run's).\n"
            if cfg.rerun
            else f"{len(records)} answers in {wall_s / 60:.1f} min.\n"
        ),
    ]
    for q in sets:
        rows = [s for s in summaries if s.question_set == q]
        n = len([i for i in items if i.question_set == q])
        parts += [
            f"\n## {names[q].capitalize()} questions ({n})\n",
            markdown_table(rows, labels),
            "\n**What the numbers say.** " + conclusions(rows, names[q], cfg.targets) + "\n",
        ]
    parts.append(
        "\nMeasures: "
        + "; ".join(f"**{label}** = {num} / {den}" for label, num, den, _ in MEASURES.values())
        + ". `governing` is the qrels' highest grade (lawyers' questions) or the row's oracle "
        "document (RAFT rows). Closed-book answers have no sources, so their quotes are checked "
        "against the documents they cite and none of their citations can be `verified`.\n"
    )
    (cfg.out / "report.md").write_text("\n".join(parts), encoding="utf-8")
    try:
        bar_chart(summaries, {s.name: s.label for s in setups}, cfg.out / "report.png",
                  CHART_MEASURES)  # fmt: skip
    except ImportError as err:
        log.warning("no chart (%s): install the `eval` extra for matplotlib", err)
    summary = {
        "config": {k: str(v) for k, v in asdict(cfg).items()},
        "wall_s": round(wall_s, 1),
        "summaries": [asdict(s) for s in summaries],
    }
    (cfg.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
