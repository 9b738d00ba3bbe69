"""The audit log: who asked what, when — a separate JSON-lines stream (`JURIS_AUDIT_LOG`).

Question text never goes to the ordinary logs at INFO; it goes here, where an operator decides
who may read it.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class AuditLog:
    """Appends one JSON object per request to a file (or nothing, when `path` is None).

    Args:
        path: the audit file; created with mode 0600 if missing.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600, exist_ok=True)

    def record(self, **fields: Any) -> None:
        """Write one entry (`ts` added) when the audit log is on."""
        if self.path is None:
            return
        entry = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), **fields}
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
