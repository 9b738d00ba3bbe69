"""Which words of a merged passage are which subdivision's (`serving.subdivisions`)."""

from __future__ import annotations

from pathlib import Path

from indexing.chunking import Chunker
from legal_corpus.adapters import make_adapter
from serving.grounding import first_subdivision, pinpoint_citation
from serving.subdivisions import lead, lines, words_at
from tests.serving.corpus_slice import merged_passage

# Fed. R. Civ. P. 60(a)–(b)(4), as the whole-corpus build stores it (shortened)
RULE_60 = (
    "(a) The court may correct a clerical mistake whenever one is found in a judgment.\n"
    "(b) On motion and just terms, the court may relieve a party from a final judgment for "
    "the following reasons:\n"
    "(1) mistake, inadvertence, surprise, or excusable neglect;\n"
    "(2) newly discovered evidence that could not have been discovered under Rule 59(b);"
)


def merged(chunk, text=RULE_60, pinpoints=("(a)", "(b)", "(b)(1)", "(b)(2)")):
    return merged_passage(chunk, text, pinpoints)


def test_each_line_is_the_subdivision_its_label_opens(passages):
    chunk = merged(passages[1].chunk)
    assert [pin for pin, _ in lines(chunk) or []] == ["(a)", "(b)", "(b)(1)", "(b)(2)"]
    # a citation of (a) may quote (a); of (b)(1), (b)'s lead-in and (1); of (b), all of (b)
    assert words_at(chunk, "(a)") == RULE_60.split("\n")[0]
    assert words_at(chunk, "(b)(1)") == "\n".join(RULE_60.split("\n")[1:3])
    assert words_at(chunk, "(b)") == "\n".join(RULE_60.split("\n")[1:])
    assert words_at(chunk, "") == RULE_60
    assert words_at(chunk, "(c)") is None  # no line of it: not judged


def test_text_after_a_list_is_the_subdivision_that_opened_it(passages):
    # 17 U.S.C. § 107: the factors, then the section's closing sentence
    text = "In determining fair use the factors shall include—\n(1) the purpose;\n(2) the nature"
    text += " of the work.\nThe fact that a work is unpublished shall not bar a finding."
    chunk = merged(passages[1].chunk, text, ("", "(1)", "(2)", ""))
    assert [pin for pin, _ in lines(chunk) or []] == ["", "(1)", "(2)", ""]
    assert "unpublished" in (words_at(chunk, "(2)") or "")  # the section's words, above (2)
    assert "(1) the purpose" not in (words_at(chunk, "(2)") or "")


def test_lines_that_do_not_show_the_labels_say_nothing(passages):
    inline = merged(passages[1].chunk, RULE_60.replace("\n", " "))
    assert lines(inline) is None and words_at(inline, "(a)") is None
    # a label where the next pinpoint's was expected, and pinpoints the text never reaches
    assert lines(merged(passages[1].chunk, RULE_60.replace("(2) newly", "(3) newly"))) is None
    cut = RULE_60.rsplit("\n", 1)[0]
    assert lines(merged(passages[1].chunk, cut)) is None
    assert [pin for pin, _ in lines(merged(passages[1].chunk, cut), whole=False) or []] == [
        "(a)", "(b)", "(b)(1)"
    ]  # fmt: skip
    assert lines(passages[1].chunk) is None  # one subdivision


def test_a_label_with_a_dash_is_one_label(corpus_dir: Path):
    # 45 U.S.C. § 354(a–1): the chunk spans (a–1)–(a–1)(i); its first pinpoint is (a–1)
    adapter = make_adapter("uscode")
    (unit, *_) = adapter.units_for(corpus_dir, "usc:45/354")
    doc = [d for d in adapter.parse(unit) if d.doc_id == "usc:45/354"][-1]
    chunk = next(c for c in Chunker().chunk(doc) if c.pinpoint == "(a–1)–(a–1)(i)")
    assert pinpoint_citation(chunk) == "45 U.S.C. § 354(a–1)"
    words = lead(chunk) or ""
    assert words.startswith("(a–1) There shall not be") and "seventy-five days" in words
    assert first_subdivision(chunk, " ".join(chunk.text.split())) == words
