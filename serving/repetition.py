"""A model's answer that has fallen into a loop, noticed as it streams.

Greedy decoding of a small model can end in a loop — the demo's model once answered the
fair-use question with `17 U.S.C. § 107(a)(1) – (a)(1) – (c) – (b) – … – (w) – (x) – (y) –
(z) – (w) – (x) – …` until its token budget ran out. Nothing after the loop's start is an
answer, and waiting for the budget costs the lawyer ten seconds or more. The pipeline feeds
each streamed piece to a `RepetitionGuard`; when the text ends in one passage repeated, it
stops the generation (vLLM aborts the request) and answers extractively, saying why
(`degraded`, reason `repetition`). Numbers aside: a list whose items differ only in their
digits is a loop too.

    >>> guard = RepetitionGuard(min_chars=60)
    >>> any(guard.feed(" – (w) – (x)") for _ in range(10))
    True
"""

from __future__ import annotations

MIN_REPEATS = 4  # back to back; in the corpus only one text does so (an amendment note, aila:S41)
MAX_PERIOD = 200  # the longest repeated passage looked for (about a sentence)
# Digits are compared as one digit: a loop that counts ("1. Jurisdiction: 17 U.S.C. § 107
# (1)", "2. Jurisdiction: 17 U.S.C. § 107 (2)", …, what the demo's model wrote for the
# fair-use question) repeats one passage. The same offsets: one character for one.
FOLD_DIGITS = str.maketrans("0123456789", "0000000000")


def loop_start(text: str, min_chars: int) -> int | None:
    """Where the loop `text` ends in begins, or None.

    A loop is one passage of 2 to `MAX_PERIOD` characters, holding a letter or digit,
    repeated back to back at least `MIN_REPEATS` times over at least `min_chars` characters.

    Args:
        text: the answer so far.
        min_chars: the shortest run of repeats that counts.

    Returns:
        The offset of the loop's first repeat.
    """
    n = len(text)
    for period in range(2, min(MAX_PERIOD, n // MIN_REPEATS) + 1):
        unit = text[n - period :]
        if not any(ch.isalnum() for ch in unit):
            continue
        repeats = 1
        while (
            n - (repeats + 1) * period >= 0
            and text[n - (repeats + 1) * period : n - repeats * period] == unit
        ):
            repeats += 1
        if repeats >= MIN_REPEATS and repeats * period >= min_chars:
            return n - repeats * period
    return None


class RepetitionGuard:
    """Fed an answer's pieces as they stream; says when the answer has become a loop.

    Args:
        min_chars: the shortest run of repeats that stops an answer (0: never stop).
    """

    def __init__(self, min_chars: int) -> None:
        self.min_chars = min_chars
        self.text = ""
        self._folded = ""  # `text` with its digits folded (`FOLD_DIGITS`), kept as it grows
        self.start: int | None = None

    def feed(self, piece: str) -> bool:
        """Add a piece; True once the answer ends in a loop (`start` says where it begins)."""
        self.text += piece
        self._folded += piece.translate(FOLD_DIGITS)
        if self.min_chars <= 0 or self.start is not None:
            return self.start is not None
        if len(self.text) < self.min_chars:
            return False  # too short to hold a loop that counts
        self.start = loop_start(self._folded, self.min_chars)
        return self.start is not None

    def describe(self) -> str:
        """The loop, for the log and the `degraded` event."""
        if self.start is None:
            return "no loop"
        loop = self.text[self.start :]
        where = "from its first character" if self.start == 0 else f"after {self.start} characters"
        return f"the model's answer repeated itself {where} ({loop[:60]!r} …)"
