"""Progress of long work: a bar on a terminal, a plain log line at least every 30 s elsewhere.

A CronJob's log, a CI run or `make demo > file` has no terminal: there a tqdm bar writes either
nothing or carriage-return noise. `progress(...)` returns a tqdm bar when stderr is a terminal,
and otherwise a `LogProgress` that logs `desc: done/total (pct) · rate/s · ETA` through
`logging` every `every_s` seconds and once at the end. `JURIS_PROGRESS=lines` asks for the
lines on a terminal too (the demo does: its answer is printed while the index builds, and
bars redrawn around it would garble it). Both have tqdm's `update`, `close`,
`set_postfix_str`, iteration and context-manager use.

    >>> for unit in progress(units, desc="parse", unit="file"):
    ...     parse(unit)
    >>> with progress(total=n, desc="embed", unit="passage") as bar:
    ...     bar.update(len(batch))
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("juris.progress")

EVERY_S = 30.0


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class LogProgress:
    """A progress counter that logs a plain line every `every_s` seconds (see module doc).

    Args:
        iterable: items to iterate over (optional).
        total: how many units in all (default: `len(iterable)` when it has one).
        desc: what is being done (`embed`, `parse`, …).
        unit: what is counted.
        every_s: seconds between two lines.
        logger: where the lines go.
        clock: the time source (tests pass a fake one).
    """

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        every_s: float = EVERY_S,
        logger: logging.Logger | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.unit = unit
        self.every_s = every_s
        self.log = logger or log
        self.clock = clock
        self.n = 0
        self.estimated = False  # `total` is a running estimate (shown as `~total`)
        self.postfix = ""
        self.start = clock()
        self._last = self.start
        self._closed = False

    def __iter__(self) -> Iterator[Any]:
        if self.iterable is None:
            raise TypeError("LogProgress was given no iterable")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        """Count `n` more units; log a line when `every_s` has passed since the last one."""
        self.n += n
        now = self.clock()
        if now - self._last >= self.every_s:
            self._last = now
            self.log.info("%s", self.line(now))

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        """Extra words at the end of each line (as tqdm's)."""
        self.postfix = text

    def set_description(self, desc: str, refresh: bool = True) -> None:
        """Rename what is being done (as tqdm's)."""
        self.desc = desc

    def line(self, now: float | None = None) -> str:
        """The progress line: done/total, percentage, rate and ETA."""
        now = self.clock() if now is None else now
        elapsed = max(now - self.start, 1e-9)
        rate = self.n / elapsed
        about = "~" if self.estimated else ""
        parts = [f"{self.desc}: {self.n:,}" + (f"/{about}{self.total:,}" if self.total else "")]
        if self.total:
            parts[0] += f" {self.unit} ({100 * self.n / self.total:.1f}%)"
        else:
            parts[0] += f" {self.unit}"
        if 0 < rate < 0.1:  # slow work (a training step): seconds per unit reads better
            parts.append(f"{1 / rate:,.0f} s/{self.unit}")
        else:
            parts.append(f"{rate:,.1f} {self.unit}/s")
        if self.total and rate > 0 and self.n < self.total:
            parts.append(f"ETA {_duration((self.total - self.n) / rate)}")
        parts.append(f"elapsed {_duration(elapsed)}")
        if self.postfix:
            parts.append(self.postfix)
        return " · ".join(parts)

    def close(self) -> None:
        """Log the final line once."""
        if not self._closed:
            self._closed = True
            self.log.info("%s (done)", self.line())


def is_terminal() -> bool:
    """True when stderr is an interactive terminal (a bar can be drawn)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def progress(
    iterable: Iterable[T] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    enabled: bool = True,
    every_s: float = EVERY_S,
) -> Any:
    """A tqdm bar on a terminal, a `LogProgress` otherwise; a silent tqdm when not `enabled`.

    Args:
        iterable: items to iterate over (optional: use `update` instead).
        total: how many units in all.
        desc: what is being done.
        unit: what is counted.
        enabled: False: no output at all (e.g. `--quiet`).
        every_s: seconds between two log lines on a non-terminal.

    Returns:
        An object with tqdm's `update`/`close`/iteration interface.
    """
    from tqdm import tqdm

    if not enabled:
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=True)
    if is_terminal() and os.environ.get("JURIS_PROGRESS", "") != "lines":
        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False)
    return LogProgress(iterable, total=total, desc=desc, unit=unit, every_s=every_s)
