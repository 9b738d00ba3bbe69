"""Question → retrieval → generation → verification, with the extractive fallback.

`Pipeline.prepare` retrieves and builds the prompt (errors here are HTTP errors: the index is
down, the model is unknown). `Pipeline.run` yields events — `token`, `degraded`, `final` — and
never raises for a generator failure: if vLLM is unreachable, times out or breaks off
mid-stream, it emits `degraded` (with the reason) and streams the extractive answer instead.

    >>> prepared = await pipeline.prepare(AskInput("Is fair use an infringement?"))
    >>> async for event in pipeline.run(prepared): ...
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Literal

from anyio import to_thread

from indexing.model import Passage, Relevance, SearchFilters
from serving import answer_format as fmt
from serving.errors import GeneratorError, LogOnce
from serving.generators.extractive import ExtractiveGenerator
from serving.generators.vllm import StreamStats, VllmGenerator
from serving.grounding import answer_grammar
from serving.index_calls import call_index
from serving.index_protocol import RetrieverLike
from serving.metrics import Metrics
from serving.prompt import Prompt, build_messages
from serving.repetition import RepetitionGuard
from serving.settings import GatewaySettings
from serving.verify import CheckedCitation, VerificationReport, Verifier

log = logging.getLogger(__name__)

# who found that the sources do not address a question (`Final.declined_by`)
DeclinedBy = Literal["retrieval", "model"]
# the degraded reason of a model's decline that retrieval overruled (`Pipeline.overrule`)
MODEL_DECLINED = "model_declined"
# the degraded reason of a model's answer that cited none of its sources (`uncited`)
MODEL_UNCITED = "model_uncited"


def set_aside_because(reason: str) -> str:
    """Why the model's answer was set aside for the quoted passages, by `degraded` reason."""
    if reason == "repetition":
        return "the model's answer fell into a loop and was stopped"
    if reason == MODEL_DECLINED:
        return (
            "the model said that its passages do not answer the question, but retrieval matched "
            "them to it closely"
        )
    if reason == MODEL_UNCITED:
        return "the model's answer cited none of its sources"
    return f"the model failed ({reason})"


EXTRACTIVE = "extractive"  # the model name that asks for a quoted answer, with no model


@dataclass(frozen=True, slots=True)
class AskInput:
    """A question and how to answer it."""

    question: str
    top_k: int | None = None
    filters: SearchFilters = field(default_factory=SearchFilters)
    model: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """Retrieved passages and the prompt over the ones that fit."""

    question: AskInput
    passages: tuple[Passage, ...]
    prompt: Prompt
    model: str | None  # None: extractive
    retrieval_s: float
    prompt_tokens: int | None = None  # counted by the served model's tokenizer
    # vLLM could not even count the prompt's tokens (unreachable, timed out): answered
    # extractively at once rather than waiting out a generation deadline as well
    generator_error: GeneratorError | None = None
    # whether the passages appear to address the question (None: not assessed)
    relevance: Relevance | None = None

    @property
    def addressed(self) -> bool:
        """False when retrieval judged that the index does not hold the governing law."""
        return self.relevance is None or self.relevance.answered

    @property
    def not_held(self) -> tuple[str, ...]:
        """Places the question names whose law the index holds none of (`indexing.places`)."""
        return self.relevance.not_held if self.relevance is not None else ()


@dataclass(frozen=True, slots=True)
class Final:
    """The finished answer, verified."""

    answer_raw: str
    mode: str
    model: str
    passages: tuple[Passage, ...]
    report: VerificationReport
    degraded: bool
    degraded_reason: str | None
    index_version: str
    timings: dict[str, float]
    adapter: str | None = None  # the LoRA adapter that wrote it (its served name)
    base_model: str | None = None  # the base model it ran on (its directory's name)
    cut: tuple[int, ...] = ()  # sources whose text was cut to fit the prompt
    answered: bool = True  # False: the sources do not appear to address the question
    relevance: float | None = None  # the calibrated probability that they do
    # who found that they do not: `retrieval` (its relevance signal; no model was asked) or
    # `model` (it was given the passages and said that they do not answer); None: answered
    declined_by: DeclinedBy | None = None
    # answered, but retrieval matched the passages to the question only weakly (below the
    # relevance calibration's caution cut, `Relevance.weak`): the reader should check that
    # they govern it
    weak_match: bool = False
    # places the question names whose law the index holds none of (`indexing.places`)
    not_held: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """One pipeline event: `token` (data: text), `degraded` (reason, message), `final`."""

    kind: str
    text: str = ""
    reason: str = ""
    final: Final | None = None


def declined(
    prepared: Prepared, mode: str, answer: str, report: VerificationReport
) -> DeclinedBy | None:
    """Who found that the sources do not address the question, or None when answered.

    `retrieval`: the relevance signal judged the passages not to govern it, and no model was
    asked. `model`: the model wrote from the passages that they do not answer it, citing none
    of them and with no citation of the answer verified (`answer_format.says_not_answered`;
    RAFT rows teach a fine-tuned model the sentence). Its words stay the answer, verified as
    any other, so a claim it adds without a source is still marked unsupported (its statement
    itself is not a claim about the law, and is not).
    """
    if not prepared.addressed:
        return "retrieval"
    verified = any(c.status == "verified" for c in report.citations)
    if mode == "llm" and not verified and fmt.says_not_answered(answer):
        return "model"
    return None


def uncited(answer: str, citations: Sequence[CheckedCitation]) -> bool:
    """True when a model's `answer`, whose checked citations are `citations`, cites none of
    its sources.

    None of its sources: no verified `[n]` marker — none of a source it was given, its quotes
    verbatim, not following a legal citation of another document (`misattributed`) — and no
    verbatim quote of one (`Verifier.verify`), so that nothing it says can be checked
    against them; an empty answer cites none. A legal citation alone does not count: the
    answer must say which passage it rests on. A decline (`answer_format.says_not_answered`)
    is not uncited: it claims nothing about the law, and `declined` and `Pipeline.overrule`
    judge it. An answer that cites at least one source stands, any sentence of it without
    one marked unsupported.
    """
    if fmt.says_not_answered(answer):
        return False
    return not any(c.kind == "source" and c.status == "verified" for c in citations)


def failed_markers(citations: Sequence[CheckedCitation]) -> str:
    """ " (its [n] markers: 1 misattributed, 2 misquoted)" for the source markers of an answer
    that failed verification, by status; "" when there are none."""
    failed = Counter(c.status for c in citations if c.kind == "source" and c.status != "verified")
    if not failed:
        return ""
    return " (its [n] markers: " + ", ".join(f"{n} {s}" for s, n in sorted(failed.items())) + ")"


class Pipeline:
    """Answers questions with cited, verified answers.

    Args:
        retriever: the index.
        verifier: checks citations.
        extractive: the model-free backend (also the fallback).
        vllm: the vLLM backend, or None for extractive only.
        metrics: where stage timings go.
        settings: defaults (top_k, max tokens, prompt budget).
    """

    def __init__(
        self,
        retriever: RetrieverLike,
        verifier: Verifier,
        extractive: ExtractiveGenerator,
        vllm: VllmGenerator | None,
        metrics: Metrics,
        settings: GatewaySettings,
    ) -> None:
        self.retriever = retriever
        self.verifier = verifier
        self.extractive = extractive
        self.vllm = vllm
        self.metrics = metrics
        self.settings = settings
        self.index_log = LogOnce(log)  # index failures, once per cause
        self.generator_log = LogOnce(log)  # generator failures, once per reason until it answers

    async def search(
        self,
        query: str,
        top_k: int,
        filters: SearchFilters,
        mode: str = "hybrid",
        group_by_doc: bool = False,
    ) -> list[Passage]:
        """Retrieve passages (in a worker thread); `group_by_doc`: one per document, see
        `indexing.retrieve.Retriever.search`.

        Raises:
            IndexUnavailable: when the index cannot answer.
            InvalidRequest: when the index rejects the query or its filters.
        """
        with self.metrics.stage("retrieval", mode):
            return await call_index(
                lambda: self.retriever.search(query, top_k, filters, mode, group_by_doc),
                self.settings.retrieval_timeout_s,
                self.index_log,
                warming=getattr(self.retriever, "warming", None),  # None: cannot tell
            )

    async def search_assessed(
        self, query: str, top_k: int, filters: SearchFilters
    ) -> tuple[list[Passage], Relevance | None]:
        """Retrieve passages and whether they appear to address the question
        (`indexing.retrieve.Retriever.search_assessed`; None from a retriever that cannot
        tell)."""
        assessed = getattr(self.retriever, "search_assessed", None)
        if assessed is None:
            return await self.search(query, top_k, filters), None
        with self.metrics.stage("retrieval", "hybrid"):
            passages, relevance = await call_index(
                lambda: assessed(query, top_k, filters),
                self.settings.retrieval_timeout_s,
                self.index_log,
                warming=getattr(self.retriever, "warming", None),  # None: cannot tell
            )
        return list(passages), relevance

    async def prepare(self, question: AskInput) -> Prepared:
        """Retrieve passages for `question` and build the prompt.

        Raises:
            IndexUnavailable: the index cannot answer.
            UnknownModel: the generator is known not to serve the requested model.
        """
        model = None
        if self.vllm is not None and question.model != EXTRACTIVE:
            model = question.model or self.settings.vllm_model
            self.vllm.check_model(model)
        start = time.perf_counter()
        top_k = question.top_k or self.settings.top_k
        found, relevance = await self.search_assessed(question.question, top_k, question.filters)
        passages = tuple(found)
        retrieval_s = time.perf_counter() - start
        if relevance is not None and not relevance.answered:
            # no model is asked to answer from passages that do not govern the question:
            # given them, it writes from them anyway (and its quotes verify)
            prompt = build_messages(question.question, (), max_chars_total=0)
            return Prepared(question, passages, prompt, None, retrieval_s, relevance=relevance)
        prompt = build_messages(
            question.question,
            passages,
            max_chars_per_source=self.settings.prompt_max_chars_per_source,
            max_chars_total=self.settings.prompt_max_chars,
        )
        tokens, down = None, None
        if model is not None:
            try:
                prompt, tokens = await self._fit_window(question, passages, prompt, model)
            except GeneratorError as err:
                down = err
        return Prepared(question, passages, prompt, model, retrieval_s, tokens, down, relevance)

    async def _fit_window(
        self, question: AskInput, passages: Sequence[Passage], prompt: Prompt, model: str
    ) -> tuple[Prompt, int | None]:
        """`prompt`, with its sources cut until it fits the model's window minus the answer.

        The budget is `prompt_max_tokens`, else the served model's context length (from vLLM)
        less the answer's `max_tokens`; tokens are counted by the served model's tokenizer
        (vLLM's `/tokenize`). When vLLM cannot count, the character budgets stand alone.

        Raises:
            GeneratorError: vLLM is unreachable or did not count in time.
        """
        assert self.vllm is not None
        budget = self.settings.prompt_max_tokens
        card = self.vllm.served.get(model)
        if not budget and card is not None and card.max_model_len:
            budget = card.max_model_len - (question.max_tokens or self.settings.vllm_max_tokens)
        try:
            tokens = await self.vllm.count_tokens(prompt.messages, model)
            chars = self.settings.prompt_max_chars
            for _ in range(6):
                if budget <= 0 or tokens <= budget:
                    return prompt, tokens
                chars = int(min(chars, sum(len(m["content"]) for m in prompt.messages)) * 0.9
                            * budget / tokens)  # fmt: skip
                prompt = build_messages(
                    question.question,
                    passages,
                    max_chars_per_source=self.settings.prompt_max_chars_per_source,
                    max_chars_total=max(chars, 0),
                )
                tokens = await self.vllm.count_tokens(prompt.messages, model)
        except GeneratorError as err:
            if err.reason in ("unreachable", "timeout"):
                raise
            log.warning("could not count prompt tokens (%s); character budgets only", err)
            return prompt, None
        if tokens > budget:
            log.warning("prompt of %d tokens exceeds the budget of %d", tokens, budget)
        return prompt, tokens

    async def run(self, prepared: Prepared) -> AsyncGenerator[Event, None]:
        """Generate and verify; see the module docstring for the events.

        Yields:
            `token` events, at most one `degraded` event, then one `final` event.
        """
        timings = {"retrieval_s": prepared.retrieval_s}
        if prepared.prompt_tokens is not None:
            timings["prompt_tokens"] = float(prepared.prompt_tokens)
        degraded_reason: str | None = None
        report: VerificationReport | None = None  # the model's answer's, once written
        pieces: list[str] = []
        given = prepared.passages
        mode, model = "extractive", "extractive"
        adapter: str | None = None
        base_model: str | None = None
        start = time.perf_counter()
        if self.vllm is not None and prepared.model is not None:
            given = prepared.passages[: prepared.prompt.n_sources]
            stats = StreamStats()
            try:
                if prepared.generator_error is not None:
                    raise prepared.generator_error
                guard = RepetitionGuard(self.settings.repetition_stop_chars)
                stream = self.vllm.stream(
                    prepared.prompt.messages,
                    model=prepared.model,
                    max_tokens=prepared.question.max_tokens or self.settings.vllm_max_tokens,
                    temperature=(
                        prepared.question.temperature
                        if prepared.question.temperature is not None
                        else self.settings.vllm_temperature
                    ),
                    n_sources=prepared.prompt.n_sources,
                    grammar=(
                        answer_grammar(
                            given,
                            prepared.prompt.shown,
                            source=self.settings.vllm_grounded_source,
                            question=prepared.question.question,
                        )
                        if self.settings.vllm_grounded_answers
                        else None
                    ),
                    stats=stats,
                )
                # closed at once when the answer loops: vLLM aborts the request
                with self.metrics.stage("generation", "vllm"):
                    async with aclosing(stream):
                        async for piece in stream:
                            pieces.append(piece)
                            yield Event("token", text=piece)
                            if guard.feed(piece):
                                raise GeneratorError("repetition", guard.describe())
                overruled = self.overrule(prepared, "".join(pieces))
                if overruled is not None:
                    raise overruled
                report = await self._verify("".join(pieces), given, timings)
                if self.settings.set_aside_uncited and uncited("".join(pieces), report.citations):
                    raise GeneratorError(
                        MODEL_UNCITED,
                        f"the model's answer cites none of the {len(given)} sources it was "
                        f"given{failed_markers(report.citations)}; unsupported claims: "
                        f"{len(report.unsupported)}",
                    )
                mode, model = "llm", prepared.model
                card = self.vllm.served.get(model)
                adapter = model if card is not None and card.parent else None
                base_model = self.vllm.base_of(model)
                self.generator_log.forget()
                self.metrics.tokens.labels(model=model).inc(stats.completion_tokens or stats.pieces)
                if stats.first_token_s is not None:
                    timings["first_token_s"] = stats.first_token_s
            except GeneratorError as err:
                degraded_reason = err.reason
                if err.reason in (MODEL_DECLINED, MODEL_UNCITED):
                    log.info("%s; quoting the passages", err)  # the model is not down
                else:
                    # once per reason while the generator stays down (the metric counts each)
                    looped = err.reason == "repetition"
                    self.generator_log.warning(
                        err.reason,
                        "%s (%s); answering extractively",
                        "the model's answer looped" if looped else "generator failed",
                        err,
                    )
                self.metrics.degraded.labels(reason=err.reason).inc()
                yield Event("degraded", reason=err.reason, text=str(err)[:300])
                pieces = []
                given = prepared.passages
                report = None
        if mode == "extractive":
            with self.metrics.stage("generation", "extractive"):
                async for piece in self.extractive.stream(
                    prepared.question.question,
                    prepared.passages,
                    prepared.addressed,
                    prepared.not_held,
                ):
                    pieces.append(piece)
                    yield Event("token", text=piece)
        # less the verification of a model's answer, timed inside that span
        timings["generation_s"] = time.perf_counter() - start - timings.get("verification_s", 0.0)
        answer_raw = "".join(pieces)
        if report is None and not prepared.addressed:
            # the product's own statement that the sources do not answer: no claim about the
            # law in it, so nothing to support and nothing to mark unsupported
            report = VerificationReport(())
            timings["verification_s"] = 0.0
        elif report is None:
            report = await self._verify(answer_raw, given, timings)
        for c in report.citations:
            self.metrics.citations.labels(kind=c.kind, status=c.status).inc()
        self.metrics.unsupported.inc(len(report.unsupported))
        declined_by = declined(prepared, mode, answer_raw, report)
        if declined_by == "model":
            # its statement that the sources do not answer claims nothing about the law; any
            # other sentence it wrote without a source stays unsupported
            kept = tuple(s for s in report.unsupported if not fmt.says_not_answered(s))
            report = VerificationReport(report.citations, kept)
        if declined_by is not None:
            self.metrics.not_answered.labels(by=declined_by).inc()
        weak = declined_by is None and prepared.relevance is not None and prepared.relevance.weak
        if weak:
            self.metrics.weak_matches.inc()
        yield Event(
            "final",
            final=Final(
                answer_raw=answer_raw,
                mode=mode,
                model=model,
                passages=tuple(given),
                report=report,
                degraded=degraded_reason is not None,
                degraded_reason=degraded_reason,
                index_version=self.index_version(),
                timings=timings,
                adapter=adapter,
                base_model=base_model,
                cut=prepared.prompt.cut if mode == "llm" else (),
                answered=declined_by is None,
                relevance=prepared.relevance.probability if prepared.relevance else None,
                declined_by=declined_by,
                weak_match=weak,
                not_held=prepared.not_held,
            ),
        )

    async def _verify(
        self, answer: str, given: Sequence[Passage], timings: dict[str, float]
    ) -> VerificationReport:
        """Verify `answer` against the sources `given` (in a worker thread), timed."""
        start = time.perf_counter()
        with self.metrics.stage("verification"):
            report = await to_thread.run_sync(lambda: self.verifier.verify(answer, given))
        timings["verification_s"] = time.perf_counter() - start
        return report

    def overrule(self, prepared: Prepared, answer: str) -> GeneratorError | None:
        """Retrieval's overruling of the model's `answer` that its sources do not answer (the
        error that sets the answer aside), or None when the answer stands.

        A model that says so (`answer_format.says_not_answered`) of passages whose calibrated
        relevance reaches `overrule_decline_from` is more often wrong than right: measured
        with the `legal` adapter (`python -m training declines`), 8 of its 9 declines at 0.93
        or more were of answerable questions whose governing provision it had been given. The
        passages are then quoted by the extractive backend instead, `degraded` with reason
        `model_declined`, so the lawyer reads the sources themselves and is told that the
        model did not answer from them. Below that relevance the model's decline stands
        (`declined`); without a calibrated relevance it always does.
        """
        floor = self.settings.overrule_decline_from
        relevance = prepared.relevance.probability if prepared.relevance else None
        if not floor or relevance is None or relevance < floor:
            return None
        if not fmt.says_not_answered(answer):
            return None
        return GeneratorError(
            MODEL_DECLINED,
            f"the model said that its sources do not answer the question; their calibrated "
            f"relevance is {relevance:.3f}, and from {floor} retrieval overrules it",
        )

    async def answer(self, question: AskInput) -> Final:
        """Prepare and run to the end; the final answer."""
        return await self.answer_prepared(await self.prepare(question))

    async def answer_prepared(self, prepared: Prepared) -> Final:
        """Run a prepared question to the end; the final answer."""
        async for event in self.run(prepared):
            if event.final is not None:
                return event.final
        raise RuntimeError("pipeline ended without a final answer")

    def index_version(self) -> str:
        """The index build answering queries ('' when unknown); never waits on an opening
        build (it is read on the event loop)."""
        try:
            version = getattr(self.retriever, "serving_version", None)
            return str(version if version is not None else self.retriever.index_version)
        except Exception:
            return ""
