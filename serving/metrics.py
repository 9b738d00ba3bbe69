"""Prometheus metrics of one gateway, on a registry built by the app factory.

Besides request and pipeline metrics, the gateway reports the index build it serves, read at
scrape time so that an alias swap shows at the next scrape:

- `juris_index_info{index_version="juris_20261124T031500_123456"} 1`
- `juris_index_build_timestamp_seconds` — when that build was made (Unix time, UTC), read from
  its name: `indexing` names every build (bulk, sharded or nightly sync) `<alias>_<UTC
  YYYYMMDDTHHMMSS>_<microseconds>` at the moment it starts writing it (`new_build_name`). A
  name without that stamp (a hand-named build) exports no timestamp rather than a wrong one.

`deploy/monitoring/juris-alerts.yaml` alerts on both (`JurisIndexStale`, `JurisIndexVersionSkew`).
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable, Iterator
from types import TracebackType

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
)  # fmt: skip


class StageTimer:
    """A `with` block timed into the stage histogram.

    A class rather than a `@contextmanager` generator on purpose: a streamed answer whose client
    aborts leaves its block suspended, and the garbage collector would close a suspended
    generator inline, wherever it happens to run, including inside `prometheus_client`'s
    non-reentrant lock (the collection is triggered by an allocation under that lock), which
    deadlocked the event loop. An abandoned `StageTimer` records nothing and holds no lock.
    """

    __slots__ = ("_backend", "_histogram", "_stage", "_start")

    def __init__(self, histogram: Histogram, stage: str, backend: str) -> None:
        self._histogram = histogram
        self._stage = stage
        self._backend = backend
        self._start = 0.0

    def __enter__(self) -> None:
        self._start = time.perf_counter()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter() - self._start
        self._histogram.labels(stage=self._stage, backend=self._backend).observe(elapsed)


_BUILD_STAMP = re.compile(r"_(\d{8}T\d{6})(?:_(\d{6}))?$")


def build_timestamp(index_version: str) -> float | None:
    """When the build `index_version` was made, from its name (None: no stamp in the name).

    Args:
        index_version: a build name such as `juris_20261124T031500_123456`.

    Returns:
        Unix seconds (UTC), microseconds included, or None.
    """
    m = _BUILD_STAMP.search(index_version)
    if not m:
        return None
    try:
        t = time.strptime(m.group(1), "%Y%m%dT%H%M%S")
    except ValueError:
        return None
    return calendar.timegm(t) + (int(m.group(2)) / 1e6 if m.group(2) else 0.0)


class IndexCollector(Collector):
    """`juris_index_info` and `juris_index_build_timestamp_seconds`, read at scrape time.

    Args:
        version: returns the serving build's name ('' or an exception: nothing exported).
    """

    def __init__(self) -> None:
        self.version: Callable[[], str] | None = None

    def collect(self) -> Iterator[Metric]:
        """The two families, or nothing while the index is unknown."""
        try:
            version = self.version() if self.version is not None else ""
        except Exception:
            version = ""
        if not version:
            return
        info = GaugeMetricFamily(
            "juris_index_info", "The index build this gateway serves", labels=["index_version"]
        )
        info.add_metric([version], 1.0)
        yield info
        stamp = build_timestamp(version)
        if stamp is not None:
            yield GaugeMetricFamily(
                "juris_index_build_timestamp_seconds",
                "When the serving index build was made (Unix time, from its name)",
                value=stamp,
            )

    def describe(self) -> Iterator[Metric]:
        """Nothing up front: the families depend on the index at scrape time."""
        return iter(())


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
        self.not_answered = Counter(
            "juris_not_answered_total",
            "Answers that say the indexed sources do not address the question, by who judged "
            "so: retrieval's relevance signal or the model",
            ["by"],
            registry=self.registry,
        )
        self.weak_matches = Counter(
            "juris_weak_match_answers_total",
            "Answers written from passages retrieval matched to the question only weakly (the "
            "relevance calibration's caution band): often a question about law the index does "
            "not hold",
            registry=self.registry,
        )
        self.degraded = Counter(
            "juris_degraded_answers_total",
            "Answers given by the extractive fallback because the generator failed, by reason",
            ["reason"],
            registry=self.registry,
        )

        self.index = IndexCollector()
        self.registry.register(self.index)

    def track_index(self, version: Callable[[], str]) -> None:
        """Export the index build `version()` names (called at each scrape).

        Args:
            version: returns the serving build's name (e.g. `Pipeline.index_version`).
        """
        self.index.version = version

    def stage(self, stage: str, backend: str = "") -> StageTimer:
        """Time a block as `stage` (`with metrics.stage("retrieval", "hybrid"): ...`)."""
        return StageTimer(self.stages, stage, backend)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
