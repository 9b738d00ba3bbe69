"""Statute usage: which judgments apply which statutes, mined from references and quotes."""

from __future__ import annotations

import pytest

from indexing.statute_usage import Statute, StatuteUsage, references, title_phrase

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text, keys",
    [
        ("convicted under Section 302 IPC", [("section", "302", "ipc")]),
        (
            "Sections 147, 148 and 149 I.P.C.",
            [("section", n, "ipc") for n in ("147", "148", "149")],
        ),
        ("u/s. 498A of the Indian Penal Code", [("section", "498A", "ipc")]),
        ("a petition under Art. 226 of the Constitution", [("article", "226", "const")]),
        ("an appeal by special leave under Article 136", [("article", "136", "const")]),
        ("examined under Section 313 Cr.P.C.", [("section", "313", "crpc")]),
        ("Section 3 of the Act does not apply", []),  # which act: cannot be told
    ],
)
def test_references_name_a_number_and_an_act(text: str, keys: list) -> None:
    assert [k for k, _ in references(text)] == keys


def test_title_phrase_is_what_a_court_calls_the_provision() -> None:
    assert title_phrase("Punishment for murder") == "murder"
    assert title_phrase("Dowry death") == "dowry death"


def test_usage_links_quoting_and_referring_judgments() -> None:
    murder = Statute(
        "aila:S2",
        "Punishment for murder",
        "Whoever commits murder shall be punished with death, or imprisonment for life, "
        "and shall also be liable to fine.",
    )
    intention = Statute(
        "aila:S6",
        "Acts done by several persons in furtherance of common intention",
        "When a criminal act is done by several persons in furtherance of the common "
        "intention of all, each of such persons is liable for that act in the same manner "
        "as if it were done by him alone.",
    )
    quoting = (
        "Section 34 IPC reads: When a criminal act is done by several persons in furtherance "
        "of the common intention of all, each of such persons is liable for that act in the "
        "same manner as if it were done by him alone."
    )
    judgments = [("aila:C1", quoting), ("aila:C2", quoting)]
    # three judgments convicted of murder under Section 302 IPC, one also under Section 34
    judgments += [
        (f"aila:C{n}", f"The accused was convicted of murder under Section 302 IPC. {extra}")
        for n, extra in ((3, ""), (4, "Section 34 IPC applied."), (5, ""))
    ]
    usage = StatuteUsage.mine([murder, intention], judgments)
    assert usage.keys == {"aila:S2": ("section", "302", "ipc"), "aila:S6": ("section", "34", "ipc")}
    assert usage.statutes_of("aila:C1") == {"aila:S6"}
    assert usage.statutes_of("aila:C4") == {"aila:S2", "aila:S6"}
    assert usage.applied_by("aila:S2") == 3 and usage.applied_by("aila:S6") == 3
