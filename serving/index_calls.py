"""Calls into the index from the gateway: in a worker thread, bounded, errors mapped once.

A retrieval or a document read runs in a worker thread (the embedded engine and the embedder
are synchronous) and is waited for at most `timeout_s`: a call stuck in the engine costs one
abandoned thread, not the request. Errors become the gateway's: the index reporting itself
unavailable (`indexing.opener.IndexUnavailable`, whose message names no server path and whose
cause was logged where it was found) and any other failure are `503 index_unavailable`; a
timeout while the index is still computing the per-build tables a question reads (the first
questions after the gateway starts) is `503 index_warming_up` with `Retry-After`; a
`ValueError` is the request's fault (`422`); an unexpected failure is logged once per cause,
never once per request.

    >>> passages = await call_index(lambda: retriever.search(q, 5, filters), 10.0, once)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from anyio import to_thread

from indexing.opener import IndexUnavailable
from serving.errors import IndexWarmingUp, InvalidRequest, LogOnce, NotFound, scrub_paths

T = TypeVar("T")

WARMING_RETRY_S = 5  # `Retry-After` of `index_warming_up`; the web page retries after it


def _still_warming(warming: Callable[[], bool]) -> bool:
    try:
        return bool(warming())
    except Exception:  # a retriever that cannot tell: the timeout is reported as such
        return False


async def call_index(
    fn: Callable[[], T],
    timeout_s: float,
    once: LogOnce,
    what: str = "searched",
    lookup: bool = False,
    warming: Callable[[], bool] | None = None,
) -> T:
    """`fn()` in a worker thread, within `timeout_s`.

    Args:
        fn: the call into the retriever.
        timeout_s: the longest wait.
        once: logs each unexpected cause once.
        what: for the message ("the index could not be <what>").
        lookup: a `KeyError` / `LookupError` means "no such document" (404), not a fault.
        warming: after a timeout, says whether the index is still computing its per-build
            tables (`Retriever.warming`; must not block).

    Raises:
        IndexUnavailable: the index is unavailable, failed, or did not answer in time (mapped
            to 503 `index_unavailable`, server paths scrubbed, by `serving.errors`).
        IndexWarmingUp: the call timed out while `warming()` says the tables are computing.
        InvalidRequest: the index rejected the query (`ValueError`).
        NotFound: with `lookup`, the index has no such document.
    """
    try:
        return await asyncio.wait_for(to_thread.run_sync(fn, abandon_on_cancel=True), timeout_s)
    except TimeoutError as err:
        if warming is not None and _still_warming(warming):
            once.warning("warming", "a question waited %.1f s for the index's tables", timeout_s)
            raise IndexWarmingUp(
                "the index is still preparing the tables a question reads (the gateway has just "
                "started); the question will answer in a few seconds",
                headers={"Retry-After": str(WARMING_RETRY_S)},
            ) from err
        once.error("timeout", "the index did not answer in %.1f s", timeout_s)
        raise IndexUnavailable(f"the index did not answer within {timeout_s:g} s") from err
    except IndexUnavailable:
        raise
    except LookupError as err:
        if not lookup:
            once.error(repr(err)[:200], "the index could not be %s", what, exc=err)
            raise IndexUnavailable(f"the index could not be {what} (logged)") from err
        raise NotFound(scrub_paths(str(err))) from err
    except ValueError as err:
        raise InvalidRequest(scrub_paths(str(err))) from err
    except Exception as err:
        once.error(repr(err)[:200], "the index could not be %s", what, exc=err)
        raise IndexUnavailable(f"the index could not be {what} (logged)") from err
