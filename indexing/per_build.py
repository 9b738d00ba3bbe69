"""Values computed once per index build, in the background, without stalling queries.

The retriever derives a few tables from the build it serves (sparse-term document
frequencies, the citation graph of its court opinions). Each takes a scroll over the build
(seconds for the bundled corpus, embedded; longer over the network), so a `PerBuild` computes
it in a thread: after a reindex swap the previous build's value keeps serving until the new
one's is in (one nightly sync hardly moves these tables), and only the very first value of a
process is waited for. A value older than `max_age_s` is recomputed the same way, which
picks up a sync that wrote a server collection in place (same name, new points).

    >>> counts = PerBuild("term frequencies", lambda store: store.term_counts())
    >>> counts.start(store)      # readiness probe: begin early
    >>> df = counts.get(store)   # waits only if nothing was ever computed
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from indexing.store import VectorStore

log = logging.getLogger(__name__)

T = TypeVar("T")


class PerBuild(Generic[T]):
    """One value per build, computed in the background.

    Args:
        what: what the value is, for the log.
        compute: computes the value from a build (may raise; a failure is logged and the
            next `get` tries again).
        max_age_s: a value this old is recomputed in the background.
    """

    def __init__(
        self, what: str, compute: Callable[[VectorStore], T], max_age_s: float = 3600.0
    ) -> None:
        self.what = what
        self.max_age_s = max_age_s
        self._compute = compute
        self._value: tuple[str, T, float] | None = None
        self._lock = threading.Lock()
        self._job: tuple[str, threading.Event] | None = None
        self._closed = False

    def get(self, store: VectorStore) -> T:
        """`store`'s value, the previous build's while it is computed, or wait for the first.

        Raises:
            Exception: whatever `compute` raises when the very first value cannot be computed.
        """
        cached = self._value
        if cached is not None and not self._stale(cached, store):
            return cached[1]
        done = self.start(store)
        if cached is not None:
            return cached[1]
        done.wait()
        current = self._value
        if current is None:  # the background computation failed: compute here, errors surface
            current = (store.name, self._compute(store), time.monotonic())
            self._value = current
        return current[1]

    def _stale(self, value: tuple[str, T, float], store: VectorStore) -> bool:
        return value[0] != store.name or time.monotonic() - value[2] >= self.max_age_s

    @property
    def has_value(self) -> bool:
        """Whether a value is in (this build's or an earlier one's): `get` will not wait."""
        return self._value is not None

    def close(self) -> None:
        """The builds are being closed: a computation that fails from now on is their
        closing, said in one line, not a fault with a traceback; none is started again."""
        self._closed = True

    @property
    def first_pending(self) -> bool:
        """Whether the process's first value is being computed now: a `get` waits for it."""
        job = self._job
        return self._value is None and job is not None and not job[1].is_set()

    def start(self, store: VectorStore) -> threading.Event:
        """Start computing `store`'s value in a thread (once per build); set when finished."""
        with self._lock:
            if self._closed:  # after close: nothing starts; a `get` waits for nothing
                done = threading.Event()
                done.set()
                return done
            job, value = self._job, self._value
            if job is not None and job[0] == store.name:
                fresh = value is not None and not self._stale(value, store)
                if not job[1].is_set() or fresh:
                    return job[1]
            done = threading.Event()
            self._job = (store.name, done)
        worker = threading.Thread(target=self._run, args=(store, done), name=self.what, daemon=True)
        worker.start()
        return done

    def _run(self, store: VectorStore, done: threading.Event) -> None:
        started = time.perf_counter()
        try:
            value = self._compute(store)
        except Exception as err:  # logged; the next query starts a new computation
            if self._closed:
                log.info("computing the %s of build %s stopped: the index was closed (%s)",
                         self.what, store.name, type(err).__name__)  # fmt: skip
            else:
                log.exception("computing the %s of build %s failed", self.what, store.name)
            with self._lock:
                if self._job is not None and self._job[1] is done:
                    self._job = None
        else:
            with self._lock:
                if self._job is not None and self._job[1] is done:  # not overtaken
                    self._value = (store.name, value, time.monotonic())
            log.info(
                "%s of build %s in %.1f s", self.what, store.name, time.perf_counter() - started
            )
        finally:
            done.set()
