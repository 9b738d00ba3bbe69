"""Prometheus metrics of one gateway, on a registry built by the app factory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
)  # fmt: skip


class Metrics:
    """The gateway's metrics: request and stage latencies, tokens, errors, citations."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "juris_http_request_duration_seconds",
            "HTTP request latency by route (streamed responses: until the last byte)",
            ["route", "method", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.stages = Histogram(
            "juris_stage_duration_seconds",
            "Latency of one pipeline stage: retrieval, generation, verification",
            ["stage", "backend"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "juris_generated_tokens_total",
            "Tokens (stream pieces) generated, by model",
            ["model"],
            registry=self.registry,
        )
        self.errors = Counter(
            "juris_errors_total", "Errors returned, by code", ["code"], registry=self.registry
        )
        self.citations = Counter(
            "juris_citations_total",
            "Citations in answers, by kind and verification status",
            ["kind", "status"],
            registry=self.registry,
        )
        self.unsupported = Counter(
            "juris_unsupported_claims_total",
            "Answer sentences without a valid citation",
            registry=self.registry,
        )
        self.degraded = Counter(
            "juris_degraded_answers_total",
            "Answers given by the extractive fallback because the generator failed, by reason",
            ["reason"],
            registry=self.registry,
        )

    @contextmanager
    def stage(self, stage: str, backend: str = "") -> Iterator[None]:
        """Time a block as `stage`."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages.labels(stage=stage, backend=backend).observe(time.perf_counter() - start)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
