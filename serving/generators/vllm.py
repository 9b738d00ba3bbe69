"""The one module that talks to vLLM: its OpenAI-compatible HTTP API, over httpx.

Streaming chat completions with a connect timeout, a first-token timeout, a between-tokens
timeout and a total deadline; bounded retries before the first token (connection refused, 5xx,
429); the model name selects the base model or a LoRA adapter (`--lora-modules legal=DIR`
serves `legal`). Where the server supports structured output (vLLM's `structured_outputs`),
the answer is decoded under the grounded-answer grammar the caller gives (`serving.grounding`,
llguidance), else its `[n]` markers are constrained to the sources given (a regex); a server
that rejects the one falls back to the other, then to none.

The total deadline bounds everything — the wait for a server that accepts the connection and
never answers, the retries —, and a caller that stops iterating (a client that left) closes
the request, which vLLM then aborts.

Every failure surfaces as `GeneratorError(reason)` (the pipeline then answers extractively),
except an unknown model name, which is the client's mistake (`UnknownModel`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass

import httpx

from serving.answer_format import constrain_citations_regex
from serving.errors import GeneratorError, UnknownModel

log = logging.getLogger(__name__)

# sends of `POST /tokenize` when a connection breaks before its answer (`count_tokens`)
TOKENIZE_ATTEMPTS = 2


@dataclass(frozen=True, slots=True)
class VllmConfig:
    """How to reach vLLM and how long to wait for it.

    Args:
        base_url: e.g. `http://127.0.0.1:8001` (with or without `/v1`).
        api_key: bearer token, if the server wants one.
        connect_timeout_s: TCP connect timeout.
        first_token_timeout_s: max wait from request to first generated text.
        read_timeout_s: max gap between two streamed pieces.
        total_timeout_s: the generation's deadline (retries and every wait included).
        retries: retries before the first token.
        constrain_citations: ask for the `[n]` regex constraint.
        one_model_at_a_time: never stream answers of two served models at once (`ModelGate`).
    """

    base_url: str
    api_key: str = ""
    connect_timeout_s: float = 2.0
    first_token_timeout_s: float = 20.0
    read_timeout_s: float = 10.0
    total_timeout_s: float = 20.0
    retries: int = 1
    constrain_citations: bool = True
    one_model_at_a_time: bool = True

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"vLLM URL must start with http:// or https://: {self.base_url!r}")
        if self.retries < 0:
            raise ValueError("retries must be >= 0")

    @property
    def api_root(self) -> str:
        """The `/v1` root of the OpenAI-compatible API."""
        root = self.base_url.rstrip("/")
        return root if root.endswith("/v1") else root + "/v1"


class ModelGate:
    """Lets answers of one served model run at a time (any number of them), in arrival order.

    vLLM 0.32's CPU build applies a LoRA adapter to base-model requests that are batched with
    adapter requests: asked at the same moment for `base` and `legal`, the `base` answer is
    written in the adapter's style (measured: greedy output differs from the same request
    sent alone; two adapters batched together each stay correct). The gateway therefore
    never has requests for two different models in flight: a request for another model waits
    until the running ones finish, and while it waits, new requests for the running model
    queue behind it (no starvation). Off with `JURIS_VLLM_MIXED_BATCHES=true` for a vLLM build
    that batches adapters correctly.
    """

    def __init__(self) -> None:
        self._model: str | None = None
        self._running = 0
        self._queue: deque[tuple[str, asyncio.Future[None]]] = deque()

    @asynccontextmanager
    async def hold(self, model: str, timeout_s: float) -> AsyncIterator[None]:
        """Run the block once `model` may run; waits at most `timeout_s`.

        Raises:
            GeneratorError: `timeout` — answers of other models held it longer.
        """
        if not self._queue and (self._running == 0 or self._model == model):
            self._enter(model)
        else:
            ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._queue.append((model, ticket))
            try:
                await asyncio.wait_for(asyncio.shield(ticket), max(timeout_s, 0.0))
            except (TimeoutError, asyncio.CancelledError) as err:
                if ticket.done() and not ticket.cancelled():
                    self._leave()  # admitted just as it gave up
                else:
                    ticket.cancel()
                    self._queue.remove((model, ticket))
                    self._admit()
                if isinstance(err, asyncio.CancelledError):
                    raise
                raise GeneratorError(
                    "timeout", f"waited {timeout_s:.1f} s for answers of another model"
                ) from err
        try:
            yield
        finally:
            self._leave()

    def _enter(self, model: str) -> None:
        self._model = model
        self._running += 1

    def _leave(self) -> None:
        self._running -= 1
        if self._running == 0:
            self._model = None
        self._admit()

    def _admit(self) -> None:
        """Let in, in order, the waiters that may run now."""
        while self._queue:
            model, ticket = self._queue[0]
            if self._running and model != self._model:
                return
            self._queue.popleft()
            self._enter(model)
            ticket.set_result(None)


def make_http_client(config: VllmConfig) -> httpx.AsyncClient:
    """The pooled HTTP client the gateway keeps open for vLLM (closed by the lifespan)."""
    timeout = httpx.Timeout(
        connect=config.connect_timeout_s,
        read=max(config.first_token_timeout_s, config.read_timeout_s),
        write=config.read_timeout_s,
        pool=config.connect_timeout_s,
    )
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    return httpx.AsyncClient(timeout=timeout, headers=headers, limits=limits, trust_env=False)


@dataclass(frozen=True, slots=True)
class ServedModel:
    """A model name vLLM serves: a base model, or a LoRA adapter of one.

    Args:
        name: the served name (`base`, `legal`).
        parent: for an adapter, the served name of its base model; None for a base model.
        root: the model or adapter directory on the vLLM server.
        max_model_len: the context window in tokens, when vLLM reports it.
    """

    name: str
    parent: str | None
    root: str
    max_model_len: int | None

    @property
    def label(self) -> str:
        """The directory's last part (`smollm2-135m-instruct`, `adapter`)."""
        return self.root.rstrip("/").rsplit("/", 1)[-1] or self.name


@dataclass(slots=True)
class StreamStats:
    """What one generation produced: pieces streamed, tokens reported, time to first piece."""

    pieces: int = 0
    completion_tokens: int | None = None
    first_token_s: float | None = None
    constrained: bool = False


class VllmGenerator:
    """Chat completions from a vLLM server.

    Args:
        client: an open `httpx.AsyncClient` (see `make_http_client`).
        config: where and how long.
    """

    name = "vllm"

    def __init__(self, client: httpx.AsyncClient, config: VllmConfig) -> None:
        self.client = client
        self.config = config
        self.known_models: set[str] = set()
        self.served: dict[str, ServedModel] = {}
        self._structured_ok = config.constrain_citations
        self._grammar_ok = config.constrain_citations
        self.gate = ModelGate() if config.one_model_at_a_time else None
        # when a generation last failed / succeeded (monotonic; readiness re-checks after one)
        self.last_failure = 0.0
        self.last_success = 0.0

    async def models(self, timeout_s: float | None = None) -> list[str]:
        """The model names the server serves (base and adapters); refreshes `known_models`.

        Args:
            timeout_s: the longest wait (default: connect + read timeouts).

        Raises:
            GeneratorError: when the server cannot be reached, does not answer in time or
                answers badly.
        """
        wait = timeout_s if timeout_s is not None else (
            self.config.connect_timeout_s + self.config.read_timeout_s
        )  # fmt: skip
        try:
            resp = await asyncio.wait_for(self.client.get(f"{self.config.api_root}/models"), wait)
        except TimeoutError as err:
            raise GeneratorError("timeout", f"GET /v1/models: no answer in {wait:.1f} s") from err
        except httpx.HTTPError as err:
            raise GeneratorError("unreachable", f"GET /v1/models: {err!r}") from err
        if resp.status_code != 200:
            raise GeneratorError(f"http_{resp.status_code}", "GET /v1/models")
        try:
            cards = list(resp.json().get("data", []))
        except (ValueError, AttributeError, TypeError) as err:
            raise GeneratorError("bad_response", "GET /v1/models: not a model list") from err
        served = {}
        for card in cards:
            if not isinstance(card, dict):
                continue
            name = str(card.get("id") or "")
            if not name:
                continue
            limit = card.get("max_model_len")
            served[name] = ServedModel(
                name=name,
                parent=card.get("parent") or None,
                root=str(card.get("root") or name),
                max_model_len=int(limit) if isinstance(limit, int) and limit > 0 else None,
            )
        for name, card in served.items():  # vLLM gives an adapter no window: its base's
            base = served.get(card.parent or "")
            if card.max_model_len is None and base is not None:
                served[name] = dataclasses.replace(card, max_model_len=base.max_model_len)
        self.served = served
        self.known_models = set(served)
        return list(served)

    def base_of(self, model: str) -> str | None:
        """The base model's directory name for `model` (itself, or an adapter's parent)."""
        card = self.served.get(model)
        if card is None:
            return None
        base = self.served.get(card.parent) if card.parent else card
        return base.label if base is not None else card.parent

    async def count_tokens(self, messages: Sequence[dict[str, str]], model: str) -> int:
        """Tokens of `messages` as `model` sees them (its chat template applied), by vLLM.

        Uses vLLM's `POST /tokenize`, so the count is the served model's own tokenizer's.
        Counting changes nothing, so a request whose connection breaks before any answer (a
        pooled keep-alive connection the server closed as it was reused) is sent once more,
        on a fresh connection, within the same short deadline.

        Raises:
            GeneratorError: vLLM cannot be reached or does not count.
        """
        root = self.config.api_root.removesuffix("/v1")
        body = {"model": model, "messages": list(messages), "add_generation_prompt": True}
        # short: a server that cannot count within this will not answer in time either
        deadline = time.monotonic() + self.config.connect_timeout_s + 1.0
        for attempt in range(TOKENIZE_ATTEMPTS):
            try:
                resp = await asyncio.wait_for(
                    self.client.post(f"{root}/tokenize", json=body), _left(deadline)
                )
                break
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as err:
                raise GeneratorError("unreachable", f"POST /tokenize: {err!r}") from err
            except (httpx.TimeoutException, TimeoutError) as err:
                raise GeneratorError("timeout", f"POST /tokenize: {err!r}") from err
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as err:
                if attempt + 1 < TOKENIZE_ATTEMPTS and _left(deadline) > 0:
                    log.info("POST /tokenize: %r; sending it once more", err)
                    continue
                raise GeneratorError("unreachable", f"POST /tokenize: {err!r}") from err
            except httpx.HTTPError as err:
                raise GeneratorError("unreachable", f"POST /tokenize: {err!r}") from err
        if resp.status_code != 200:
            raise GeneratorError(f"http_{resp.status_code}", "POST /tokenize")
        count = resp.json().get("count")
        if not isinstance(count, int):
            raise GeneratorError("bad_response", "POST /tokenize gave no count")
        return count

    def check_model(self, model: str) -> None:
        """Raise `UnknownModel` when the server is known not to serve `model`."""
        if self.known_models and model not in self.known_models:
            raise UnknownModel(
                f"model {model!r} is not served; available: {sorted(self.known_models)}"
            )

    async def stream(
        self,
        messages: Sequence[dict[str, str]],
        *,
        model: str,
        max_tokens: int,
        temperature: float = 0.0,
        n_sources: int = 0,
        grammar: str | None = None,
        stats: StreamStats | None = None,
    ) -> AsyncGenerator[str, None]:
        """Stream the answer's text pieces.

        Args:
            messages: OpenAI chat messages.
            model: served model or adapter name.
            max_tokens: generation budget.
            temperature: sampling temperature.
            n_sources: sources in the prompt (for the `[n]` constraint; 0: none).
            grammar: the grounded-answer grammar (`serving.grounding.answer_grammar`), asked
                for instead of the `[n]` constraint while the server accepts it.
            stats: filled in as the stream goes.

        Yields:
            Text pieces as vLLM produces them.

        Raises:
            GeneratorError: unreachable, timeout, HTTP error, or a stream that breaks off.
            UnknownModel: the server does not serve `model`.
        """
        stats = stats if stats is not None else StreamStats()
        cfg = self.config
        start = time.monotonic()
        deadline = start + cfg.total_timeout_s
        body: dict[str, object] = {
            "model": model,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        turn = self.gate.hold(model, deadline - time.monotonic()) if self.gate else nullcontext()
        async with turn:
            async for piece in self._attempts(body, n_sources, grammar, deadline, stats, start):
                yield piece

    async def _attempts(
        self,
        body: dict[str, object],
        n_sources: int,
        grammar: str | None,
        deadline: float,
        stats: StreamStats,
        start: float,
    ) -> AsyncIterator[str]:
        """The stream, retried before its first piece (see `stream`)."""
        cfg = self.config
        attempt = 0
        while True:
            grounded = self._grammar_ok and grammar is not None and n_sources > 0
            constrained = self._structured_ok and n_sources > 0
            if grounded:
                body["structured_outputs"] = {"grammar": grammar}
            elif constrained:
                body["structured_outputs"] = {"regex": constrain_citations_regex(n_sources)}
            else:
                body.pop("structured_outputs", None)
            stats.constrained = constrained or grounded
            try:
                attempt_start = time.monotonic()
                async for piece in self._one_attempt(body, deadline, stats, start, attempt_start):
                    yield piece
                self.last_success = time.monotonic()
                return
            except GeneratorError:
                self.last_failure = time.monotonic()
                raise
            except _Retryable as err:
                if err.unsupported_constraint and grounded:
                    log.warning(
                        "vLLM rejected the grounded-answer grammar (it needs the llguidance "
                        "backend: --structured-outputs-config.backend guidance); continuing "
                        "with the [n] constraint"
                    )
                    self._grammar_ok = False
                    continue
                if err.unsupported_constraint and constrained:
                    log.warning("vLLM rejected the citation constraint; continuing without it")
                    self._structured_ok = False
                    continue
                if stats.pieces == 0 and attempt < cfg.retries and time.monotonic() < deadline:
                    attempt += 1
                    await asyncio.sleep(min(0.25 * attempt, max(0.0, deadline - time.monotonic())))
                    continue
                self.last_failure = time.monotonic()
                raise GeneratorError(err.reason, str(err)) from err

    async def _one_attempt(
        self,
        body: dict[str, object],
        deadline: float,
        stats: StreamStats,
        start: float,
        attempt_start: float,
    ) -> AsyncIterator[str]:
        """One request; every wait is bounded by the first-token timeout (counted from the
        attempt's start), the gap between tokens and the generation's `deadline`."""
        cfg = self.config
        url = f"{cfg.api_root}/chat/completions"
        first_by = min(attempt_start + cfg.first_token_timeout_s, deadline)
        resp: httpx.Response | None = None
        try:
            request = self.client.build_request("POST", url, json=body)
            # httpx's own timeouts restart with every byte; a server that accepts and never
            # answers must cost no more than the deadline, so the wait for the response
            # headers is bounded here too.
            try:
                async with asyncio.timeout(_left(first_by)):
                    resp = await self.client.send(request, stream=True)
            except TimeoutError as err:
                raise GeneratorError("timeout", "no response before the deadline") from err
            if resp.status_code != 200:
                try:
                    async with asyncio.timeout(_left(deadline)):
                        detail = (await resp.aread()).decode("utf-8", "replace")[:500]
                except TimeoutError:
                    detail = ""
                asked = body.get("structured_outputs")
                grammar = isinstance(asked, dict) and "grammar" in asked
                self._raise_for_status(resp.status_code, detail, str(body["model"]), grammar)
            lines = resp.aiter_lines()
            done = False
            while not done:
                if stats.pieces == 0:
                    wait = _left(first_by)
                else:
                    wait = min(cfg.read_timeout_s, _left(deadline))
                if wait <= 0:
                    raise GeneratorError("timeout", "generation exceeded its deadline")
                try:
                    # asyncio.timeout, not wait_for: no task per line on the hot path.
                    async with asyncio.timeout(wait):
                        line = await anext(lines)
                except StopAsyncIteration:
                    break
                except TimeoutError as err:
                    if _left(deadline) <= 0:  # the whole generation's budget, not a stall
                        budget = f"{cfg.total_timeout_s:g} s"
                        raise GeneratorError(
                            "timeout", f"generation exceeded its deadline ({budget})"
                        ) from err
                    raise GeneratorError("timeout", f"no output for {wait:.1f} s") from err
                piece, done = self._parse_line(line, stats)
                if piece:
                    if stats.pieces == 0:
                        stats.first_token_s = time.monotonic() - start
                    stats.pieces += 1
                    yield piece
            if not done:
                raise GeneratorError("stream_broken", "stream ended without [DONE]")
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as err:
            raise _Retryable("unreachable", repr(err)) from err
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout) as err:
            if stats.pieces == 0:
                raise _Retryable("unreachable", repr(err)) from err
            raise GeneratorError("stream_broken", repr(err)) from err
        except httpx.HTTPError as err:
            raise GeneratorError("http_error", repr(err)) from err
        finally:
            if resp is not None:
                # closes the connection when the stream is not finished: vLLM aborts the
                # request (a client that left, a deadline that passed)
                await resp.aclose()

    @staticmethod
    def _raise_for_status(status: int, detail: str, model: str, grammar: bool = False) -> None:
        if status == 404 or (status == 400 and "does not exist" in detail and model in detail):
            raise UnknownModel(f"model {model!r} is not served by the generator")
        # a grammar the server's backend cannot compile is refused in the backend's own words
        if status == 400 and ("structured_outputs" in detail or grammar):
            raise _Retryable("http_400", detail, unsupported_constraint=True)
        if status >= 500 or status == 429:
            raise _Retryable(f"http_{status}", detail)
        raise GeneratorError(f"http_{status}", detail)

    @staticmethod
    def _parse_line(line: str, stats: StreamStats) -> tuple[str, bool]:
        line = line.strip()
        if not line.startswith("data:"):
            return "", False
        data = line[5:].strip()
        if data == "[DONE]":
            return "", True
        try:
            event = json.loads(data)
        except json.JSONDecodeError as err:
            raise GeneratorError("bad_stream", f"not JSON: {data[:200]!r}") from err
        if "error" in event:
            raise GeneratorError("stream_error", str(event["error"])[:300])
        usage = event.get("usage")
        if usage and usage.get("completion_tokens") is not None:
            stats.completion_tokens = int(usage["completion_tokens"])
        choices = event.get("choices") or []
        if not choices:
            return "", False
        return (choices[0].get("delta") or {}).get("content") or "", False


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


class _Retryable(Exception):
    def __init__(self, reason: str, message: str, *, unsupported_constraint: bool = False):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.unsupported_constraint = unsupported_constraint
