"""An answer that loops is noticed as it streams; legal text is not taken for a loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from legal_corpus.adapters import make_adapter
from serving.repetition import RepetitionGuard, loop_start

pytestmark = pytest.mark.unit

# what the demo's small model wrote for the fair-use question, greedy, to its token budget
LOOPING = "17 U.S.C. § 107(a)(1) – (a)(1) – (c) – (b) – (c) – (d)" + " – (w) – (x) – (y) – (z)" * 12


def _stream(text: str, guard: RepetitionGuard, size: int = 3) -> int | None:
    """Feed `text` in pieces; the offset reached when the guard stopped it (None: never)."""
    for i in range(0, len(text), size):
        if guard.feed(text[i : i + size]):
            return i + size
    return None


def test_a_loop_is_stopped_soon_after_it_starts() -> None:
    guard = RepetitionGuard(min_chars=100)
    stopped = _stream(LOOPING, guard)
    assert stopped is not None and stopped < 200 < len(LOOPING)
    assert guard.start == LOOPING.index(" – (w)")  # where the loop begins
    assert f"repeated itself after {guard.start} characters" in guard.describe()
    from_the_start = RepetitionGuard(min_chars=20)
    assert _stream("Fair use. " * 8, from_the_start, size=10) is not None
    assert "repeated itself from its first character" in from_the_start.describe()


def test_a_loop_that_counts_is_a_loop() -> None:
    """What the demo's model wrote for the fair-use question on another run: the items
    differ only in their numbers."""
    counting = "".join(f"{n}. Jurisdiction: 17 U.S.C. § 107 ({n})\n" for n in range(1, 10))
    guard = RepetitionGuard(min_chars=100)
    stopped = _stream(counting, guard)
    assert stopped is not None and stopped < len(counting) // 2
    assert guard.start is not None and guard.start < counting.index("\n")  # the first item
    assert "Jurisdiction: 17 U.S.C. § 107 (1)" in guard.describe()  # its own text, unfolded
    # four items that say different things are an answer, numbered
    listed = (
        "1. Fair use is not an infringement [1].\n2. The purpose and character of the use "
        "count [2].\n3. So does the nature of the copyrighted work [3].\n4. And the amount "
        "used in relation to the whole [4].\n"
    )
    assert _stream(listed, RepetitionGuard(min_chars=100)) is None


def test_loop_start_needs_four_repeats_over_the_minimum() -> None:
    sentence = "The use is fair when the four factors favour it [1]. "
    assert loop_start(sentence * 3, 100) is None  # said three times: not yet a loop
    assert loop_start(sentence * 4, 100) == 0
    assert loop_start("ab" * 30, 100) is None  # too short a run
    assert loop_start("-" * 500, 10) is None  # no letter or digit: a rule line, not a loop


def test_off_when_min_chars_is_zero() -> None:
    assert _stream(LOOPING, RepetitionGuard(min_chars=0)) is None


@pytest.mark.parametrize(
    ("source", "doc_ids"),
    [
        ("gdpr", ["gdpr:art6", "gdpr:art17", "gdpr:art4"]),
        ("federal_rules", ["frcp:12", "frap:4", "fre:408"]),
    ],
)
def test_the_laws_own_text_is_never_taken_for_a_loop(
    corpus_dir: Path, source: str, doc_ids: list[str]
) -> None:
    adapter = make_adapter(source)
    seen = 0
    for doc_id in doc_ids:
        (unit, *_) = adapter.units_for(corpus_dir, doc_id)
        for doc in adapter.parse(unit):
            if doc.doc_id != doc_id:
                continue
            text = "\n".join(s.text for s in doc.sections)
            assert _stream(text, RepetitionGuard(min_chars=100), size=4) is None, doc_id
            seen += 1
    assert seen >= len(doc_ids)
