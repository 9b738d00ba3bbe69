"""A stop for `run_build(stop=…)` that is set once the build has written its first batch: with
`serve_early`, the build is then the one searches use, and it stops incomplete (what a demo
interrupted part-way leaves)."""

from __future__ import annotations

import threading


class AfterFirstBatch(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def is_set(self) -> bool:
        self.asked += 1
        return self.asked > 1
