"""What the index holds while a build is still filling, for `/readyz`, `GET /v1/index/status`,
and the note search and ask results carry when a source their filters ask for is not in yet.

The gateway does not read Qdrant or build files itself: it asks the retriever
(`index_status()`, optional on a `RetrieverLike`; `indexing.retrieve.Retriever` reads the
build's status file, see `indexing.status`).
"""

from __future__ import annotations

from typing import Any

from indexing.model import SearchFilters
from indexing.status import pending_note, pending_sources, serves_its_build, serving_incomplete
from serving.index_protocol import RetrieverLike
from serving.protocol import IndexNote


def index_status(retriever: RetrieverLike) -> dict[str, Any] | None:
    """The retriever's build status (None when it keeps none or it cannot be read)."""
    reader = getattr(retriever, "index_status", None)
    if not callable(reader):
        return None
    try:
        status = reader()
    except Exception:  # a status that cannot be read must not fail a search
        return None
    return status if isinstance(status, dict) else None


def readiness_fields(status: dict[str, Any] | None) -> dict[str, object]:
    """Flat fields `/readyz` adds to its `index` object while a build fills, or while
    searches use an incomplete one (`incomplete`: it stopped before it was complete)."""
    incomplete = serving_incomplete(status)
    if status is None or not (incomplete or status.get("state") == "filling"):
        return {"filling": False}
    pending = pending_sources(status)
    sources = {
        "sources_done": ", ".join(n for n in status.get("sources") or {} if n not in pending),
        "sources_pending": ", ".join(pending),
        "passages": int(status.get("passages") or 0),
    }
    if incomplete:
        return {
            "filling": False,
            "incomplete": True,
            "incomplete_build": str(status.get("build", "")),
            **sources,
            "build_error": str(status.get("error") or "")[:300],
        }
    return {
        "filling": True,
        "filling_build": str(status.get("build", "")),
        "serving_filling_build": serves_its_build(status),
        **sources,
        "passages_estimated": int(status.get("passages_estimated") or 0),
        "eta_s": int(status.get("eta_s") or 0),
    }


def index_note(retriever: RetrieverLike, filters: SearchFilters) -> IndexNote | None:
    """The note for a result whose filters ask for sources not (fully) indexed: a build still
    filling, or an incomplete one that searches use."""
    status = index_status(retriever)
    note = pending_note(status, filters.kind, filters.jurisdiction, filters.sources or None)
    if note is None or status is None:
        return None
    pending, message = note
    return IndexNote(pending_sources=pending, message=message, eta_s=status.get("eta_s"))
