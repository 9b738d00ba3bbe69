"""Following the current build: opened and verified in the background, failures remembered.

A retriever asks `BuildOpener.store()` for the build the pointer (or alias) names. Opening a
build — loading its segments, checking it against its integrity record
(`indexing.integrity`) — runs in one background thread at a time, never under a lock that
queries wait on, so:

- after a swap, queries keep using the previous build until the new one is open and verified
  (the swap costs them nothing); the previous build is closed `retire_after_s` later, which
  gives its memory back;
- with nothing open yet, a caller waits at most `wait_s` (None: until the open ends; the
  gateway sets a short wait) and then gets `IndexUnavailable` saying the build is opening;
- a build that cannot be opened or fails verification is remembered: every caller gets the
  same `IndexUnavailable` at once (no retry storm), the cause is logged once with its detail,
  and a new attempt starts in the background at most every `retry_s`, or as soon as the
  pointer changes;
- messages name builds, never server paths (those go to the log).

    >>> opener = BuildOpener(catalog, verify=lambda store: verify_build(root, store, 384))
    >>> store = opener.store()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from indexing.store import Catalog, VectorStore

log = logging.getLogger(__name__)


class IndexUnavailable(RuntimeError):
    """The index cannot serve queries (no build yet, build missing, unreadable or rejected)."""


@dataclass
class _Job:
    token: object
    serving: str | None  # the build open when the job started
    generation: int
    done: threading.Event = field(default_factory=threading.Event)
    name: str | None = None
    store: VectorStore | None = None
    error: IndexUnavailable | None = None


@dataclass(frozen=True)
class _Failure:
    token: object
    error: IndexUnavailable
    at: float


class BuildOpener:
    """The current build of a catalog, opened off the query path.

    Args:
        catalog: the builds and the pointer / alias.
        verify: checks an opened build (raises to reject it); None: no check.
        wait_s: longest wait for a build being opened when none is open (None: no limit).
        retry_s: least time between two attempts at a build that failed.
        retire_after_s: a build replaced by a swap is closed this long after (queries that
            had it in hand have ended by then), or at the next swap.
    """

    def __init__(
        self,
        catalog: Catalog,
        verify: Callable[[VectorStore], object] | None = None,
        wait_s: float | None = None,
        retry_s: float = 10.0,
        retire_after_s: float = 30.0,
    ) -> None:
        self.catalog = catalog
        self.verify = verify
        self.wait_s = wait_s
        self.retry_s = retry_s
        self.retire_after_s = retire_after_s
        self._lock = threading.Lock()
        self._store: VectorStore | None = None
        self._token: object = object()
        self._retired: list[tuple[VectorStore, float]] = []  # (build, when it was replaced)
        self._job: _Job | None = None
        self._failure: _Failure | None = None
        self._logged: set[str] = set()
        self._generation = 0  # bumped by `close`: a job started before is discarded

    def store(self, wait_s: float | None = -1.0, wait_for_new: bool = True) -> VectorStore:
        """The build the pointer names now (the previous one while a new one is opening).

        Args:
            wait_s: override of `wait_s` for this call (-1: the configured one).
            wait_for_new: after a swap, wait (as long as for a first build) for the new build
                before falling back on the previous one; False: answer with the previous one
                at once (for callers that must not block, e.g. on an event loop).

        Raises:
            IndexUnavailable: no build, or the current one cannot be served.
        """
        limit = self.wait_s if wait_s == -1.0 else wait_s
        deadline = None if limit is None else time.monotonic() + limit
        retired = self._retired
        if retired and time.monotonic() - retired[0][1] >= self.retire_after_s:
            self._close_retired()
        while True:
            token = self._changed_token()
            store = self._store
            if store is not None and token == self._token:
                return store
            with self._lock:
                if self._store is not None and token == self._token:
                    return self._store
                job, failure = self._job, self._failure
                if failure is not None and failure.token == token:
                    if job is None and time.monotonic() - failure.at >= self.retry_s:
                        self._start(token)  # one retry, in the background: nobody waits on it
                    raise failure.error
                if job is None:
                    job = self._start(token)
                previous = self._store
            if previous is not None and not wait_for_new:
                return previous
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not job.done.wait(left):
                if previous is not None:
                    return previous
                what = f"index build {job.name}" if job.name else "the index build"
                raise IndexUnavailable(f"{what} is still opening")
            with self._lock:
                self._install(job)

    def close(self) -> None:
        """Close the builds this opener opened (an open still running closes its own)."""
        with self._lock:
            self._generation += 1
            self._job = None
            for s in [*(r for r, _ in self._retired), *([self._store] if self._store else [])]:
                s.close()
            self._retired, self._store = [], None
            self._token = object()

    # -- internals ------------------------------------------------------------------------

    def _changed_token(self) -> object:
        try:
            return self.catalog.changed_token()
        except Exception as err:
            self._log_once("token", "the index pointer cannot be checked: %r", err)
            raise IndexUnavailable("the index store cannot be reached") from err

    def _start(self, token: object) -> _Job:
        serving = self._store.name if self._store is not None else None
        job = _Job(token, serving, self._generation)
        self._job = job
        thread = threading.Thread(target=self._open, args=(job,), name="open build", daemon=True)
        thread.start()
        return job

    def _open(self, job: _Job) -> None:
        started = time.perf_counter()
        try:
            job.name = self._current_name()
            if job.name == job.serving:
                return  # the pointer was rewritten, the build is the one open
            try:
                store = self.catalog.open(job.name)
            except Exception as err:
                self._log_once(f"open:{job.name}:{err}", "index build %s cannot be opened: %s",
                               job.name, err)  # fmt: skip
                raise IndexUnavailable(
                    f"index build {job.name} cannot be opened (see the log)"
                ) from err
            try:
                if self.verify is not None:
                    self.verify(store)
            except Exception as err:
                store.close()
                self._log_once(f"verify:{job.name}:{err}", "index build %s is not served: %s",
                               job.name, err)  # fmt: skip
                if isinstance(err, IndexUnavailable):
                    raise IndexUnavailable(f"{err}; it is not served") from err
                raise IndexUnavailable(
                    f"index build {job.name} could not be verified (see the log)"
                ) from err
            job.store = store
            log.info("index build %s open in %.2f s", job.name, time.perf_counter() - started)
        except IndexUnavailable as err:
            job.error = err
        except Exception as err:  # never leave a waiter without an answer
            log.exception("opening the current index build failed")
            job.error = IndexUnavailable("the index could not be opened (see the gateway log)")
            job.error.__cause__ = err
        finally:
            job.done.set()
            with self._lock:
                self._install(job)

    def _current_name(self) -> str:
        try:
            name = self.catalog.current()
        except Exception as err:
            self._log_once(f"pointer:{err}", "the index build pointer cannot be read: %r", err)
            raise IndexUnavailable("the index build pointer cannot be read (see the log)") from err
        if name is None:
            raise IndexUnavailable(
                f"no index build yet for alias {self.catalog.alias!r}: run "
                "`python -m indexing build`"
            )
        return name

    def _install(self, job: _Job) -> None:
        """Adopt a finished job's result (under `_lock`; idempotent)."""
        if not job.done.is_set():
            return
        if job.generation != self._generation:  # started before `close`
            if job.store is not None:
                job.store.close()
                job.store = None
            return
        if self._job is not job:
            return
        self._job = None
        if job.error is not None:
            self._failure = _Failure(job.token, job.error, time.monotonic())
            return
        self._failure = None
        if job.store is None:
            pass  # the build already open (see `_open`)
        elif self._store is not None and self._store.name == job.store.name:
            job.store.close()  # the same build (pointer rewritten): keep the open handle
        else:
            if self._store is not None:
                # Closed on a later swap: a thread may still be querying the old build.
                self._retired.append((self._store, time.monotonic()))
                while len(self._retired) > 1:
                    self._retired.pop(0)[0].close()
            self._store = job.store
            log.info("retriever now on build %s", job.store.name)
        if job.store is None and self._store is None:
            return  # the build it found open was closed meanwhile: the next call opens it
        self._token = job.token
        self._logged.clear()

    def _close_retired(self) -> None:
        """Close replaced builds once no query can still be using them (`retire_after_s`):
        an open build holds tens of MiB of mapped storage however small it is."""
        with self._lock:
            now = time.monotonic()
            while self._retired and now - self._retired[0][1] >= self.retire_after_s:
                store, _ = self._retired.pop(0)
                store.close()
                log.info("closed replaced build %s", store.name)

    def _log_once(self, key: str, message: str, *args: object) -> None:
        if key in self._logged:
            return
        if len(self._logged) > 256:
            self._logged.clear()
        self._logged.add(key)
        log.error(message, *args)
