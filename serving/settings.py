"""The gateway's configuration: one pydantic-settings class, `JURIS_*` environment variables.

Built at the entry point (`python -m serving serve`, `create_app(settings)`), never at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Settings of the HTTP gateway (environment variables `JURIS_<FIELD>`)."""

    model_config = SettingsConfigDict(env_prefix="JURIS_", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development", description="`production` refuses insecure settings"
    )
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8000, ge=0, le=65535, description="port to listen on")

    # generator
    vllm_url: str = Field("", description="vLLM base URL (`http://h:8001`); empty: extractive")
    vllm_model: str = Field("base", description="model served by default (base or adapter name)")
    vllm_api_key: str = Field("", description="bearer token vLLM expects, if any")
    vllm_connect_timeout_s: float = Field(2.0, gt=0, description="connect timeout to vLLM")
    vllm_first_token_timeout_s: float = Field(
        20.0, gt=0, description="max wait for vLLM's first byte"
    )
    vllm_read_timeout_s: float = Field(10.0, gt=0, description="max gap between streamed tokens")
    vllm_total_timeout_s: float = Field(
        20.0, gt=0, description="deadline of one generation, retries and waits included"
    )
    vllm_retries: int = Field(1, ge=0, le=5, description="retries before the first token")
    vllm_max_tokens: int = Field(256, ge=1, description="max tokens generated per answer")
    vllm_temperature: float = Field(0.0, ge=0, description="sampling temperature")
    vllm_constrain_citations: bool = Field(
        True, description="ask vLLM to constrain [n] to the sources given (structured output)"
    )
    vllm_grounded_answers: bool = Field(
        True,
        description="decode the answer under a grammar of the sources' own citations, numbers "
        "and words (serving.grounding; vLLM's llguidance backend); false: free text with the "
        "[n] constraint",
    )
    vllm_grounded_source: Literal["first", "any"] = Field(
        "first",
        description="which source a grounded answer rests on: first, the passage retrieval "
        "ranks first (the model chooses the words it quotes); any, the source the model "
        'chooses (serving/README.md, "Grounded answers": the 135M models choose the '
        "governing provision less often than retrieval ranks it first)",
    )
    repetition_stop_chars: int = Field(
        100,
        ge=0,
        description="stop an answer that ends in this many characters of one passage repeated "
        "four or more times, and answer extractively (0: never stop)",
    )
    overrule_decline_from: float = Field(
        0.93,
        ge=0.0,
        le=1.0,
        description='from this calibrated relevance, a model\'s "the sources do not answer" is '
        "overruled and the passages are quoted instead (degraded, reason `model_declined`); "
        "0: the model's decline always stands",
    )
    set_aside_uncited: bool = Field(
        True,
        description="set aside a model's answer that cites none of its sources and quote "
        "the passages instead (degraded, reason `model_uncited`); off: it is shown, each of "
        "its claims marked unsupported",
    )
    vllm_mixed_batches: bool = Field(
        False,
        description="let answers of different served models (base, adapters) run at the same "
        "time; off: one model at a time, because vLLM's CPU build applies an adapter to "
        "base-model requests batched with adapter requests",
    )

    # retrieval
    top_k: int = Field(6, ge=1, le=50, description="passages retrieved per question by default")
    prompt_max_chars_per_source: int = Field(
        1200, ge=100, description="source text given to the model per passage"
    )
    prompt_max_chars: int = Field(
        8000, ge=200, description="source text given to the model in all (fit the model's context)"
    )
    prompt_max_tokens: int = Field(
        0,
        ge=0,
        description="most prompt tokens (served model's tokenizer); 0: its window less the answer",
    )

    # security
    api_keys_file: Path | None = Field(None, description="API keys file (JSON, hashed keys)")
    rate_limit_per_minute: float = Field(60.0, gt=0, description="requests per key per minute")
    rate_limit_burst: int = Field(20, ge=1, description="bucket size per key")
    max_question_chars: int = Field(2000, ge=10, le=20000, description="longest question accepted")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="largest request body accepted")
    cors_origins: list[str] = Field(default_factory=list, description="allowed CORS origins")
    audit_log: Path | None = Field(None, description="JSON-lines audit log of who asked what")
    log_questions: bool = Field(False, description="log question text at INFO (off by default)")

    # the web client (static files served at /)
    web_dir: Path | None = Field(None, description="static web client (default: serving/web)")

    # bounds that keep faults from taking the gateway out of service
    index_open_wait_s: float = Field(
        0.75, gt=0, description="longest wait for an index build being opened when none is open"
    )
    index_retry_s: float = Field(
        10.0, gt=0, description="least time between two attempts at a build that failed"
    )
    retrieval_timeout_s: float = Field(10.0, gt=0, description="longest wait for one retrieval")
    ready_check_timeout_s: float = Field(
        0.8, gt=0, le=5, description="each /readyz check (index, generator) answers within this"
    )
    ready_cache_s: float = Field(
        5.0, ge=0, description="the generator's readiness is asked at most this often"
    )
    body_read_timeout_s: float = Field(
        10.0, gt=0, description="longest time to receive a request body (then 408)"
    )
    auth_failures_per_minute: float = Field(
        30.0, gt=0, description="failed key checks per client address and per key id"
    )
    auth_failure_burst: int = Field(10, ge=1, description="failed key checks allowed at once")
    docs_enabled: bool = Field(True, description="serve Swagger UI at /docs (local assets)")

    @model_validator(mode="after")
    def _refuse_insecure(self) -> GatewaySettings:
        if self.environment != "production":
            return self
        problems = []
        if self.api_keys_file is None:
            problems.append("JURIS_API_KEYS_FILE must be set")
        if "*" in self.cors_origins:
            problems.append("JURIS_CORS_ORIGINS must not contain '*'")
        if self.log_questions:
            problems.append("JURIS_LOG_QUESTIONS must be off (use JURIS_AUDIT_LOG)")
        if problems:
            raise ValueError("insecure settings for production: " + "; ".join(problems))
        return self

    @property
    def generator_backend(self) -> str:
        """`vllm` when a vLLM URL is configured, else `extractive`."""
        return "vllm" if self.vllm_url else "extractive"
