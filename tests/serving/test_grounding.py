"""The grounded-answer grammar: the trained format over the first source, or over any source
shown when the model is to choose."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from indexing.model import Passage
from serving.grounding import (
    MAX_QUOTE_WORDS,
    answer_grammar,
    first_subdivision,
    pinpoint_citation,
    pointed_claim,
)
from serving.prompt import build_messages
from tests.serving.corpus_slice import merged_passage

pytestmark = pytest.mark.unit


def rules(grammar: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in grammar.splitlines() if line)


def test_one_alternative_per_source_shown(passages):
    prompt = build_messages("Is teaching a fair use?", passages, max_chars_per_source=700)
    grammar = rules(answer_grammar(passages, prompt.shown, source="any") or "")
    assert grammar["start"] == "source1 | source2"  # no decline: the relevance signal's call
    assert grammar["cite2"] == '"17 U.S.C. § 107(1)"'
    assert grammar["source2"] == (
        'cite2 " [2] governs this question" (" (Limitations on exclusive rights: Fair use)")? '
        '". It provides: ##begin_quote##" QUOTE2 "##end_quote## [2]."'
    )
    words = json.loads(grammar["QUOTE2"].split(" & %regex ", 1)[1])["substring_words"]
    assert words == " ".join(passages[1].chunk.text.split())
    # a source the prompt had no room for is not one to cite
    only_one = rules(answer_grammar(passages, prompt.shown[:1], source="any") or "")
    assert only_one["start"] == "source1" and "source2" not in only_one
    assert answer_grammar(passages, ["", ""], source="any") is None


def test_by_default_the_answer_rests_on_the_first_source_with_words(passages):
    prompt = build_messages("Is teaching a fair use?", passages, max_chars_per_source=700)
    first = rules(answer_grammar(passages, prompt.shown) or "")
    assert first["start"] == "source1" and "source2" not in first and "cite2" not in first
    # a first source with no words to quote gives way to the next
    second = rules(answer_grammar(passages, ["", prompt.shown[1]]) or "")
    assert second["start"] == "source2" and "source1" not in second
    assert answer_grammar(passages, ["", ""]) is None
    with pytest.raises(ValueError, match="first"):
        answer_grammar(passages, prompt.shown, source="best")


def test_a_merged_passage_is_cited_whole_or_at_its_first_pinpoint(passages):
    merged = dataclasses.replace(
        passages[1].chunk,
        citation="17 U.S.C. § 107(1)–(2)",
        pinpoint="(1)–(2)",
        pinpoints=("(1)", "(2)"),
    )
    assert pinpoint_citation(merged) == "17 U.S.C. § 107(1)"
    text = "(1) the purpose and character of the use, see clause (2) here; (2) the nature of work"
    grammar = rules(answer_grammar([Passage(merged, 1.0)], [text]) or "")
    assert grammar["cite1"] == '"17 U.S.C. § 107(1)–(2)"'
    assert grammar["pin1_1"] == '"17 U.S.C. § 107(1)"'
    assert grammar["source1"].startswith("cite1 ") and " | pin1_1 " in grammar["source1"]
    quoted = {
        name: json.loads(grammar[name].split(" & %regex ", 1)[1])["substring_words"]
        for name in ("QUOTE1", "PINQUOTE1_1")
    }
    # the whole span may be quoted under the span's citation; under (1), only the words before
    # the first " (2) " (here a cross-reference, which cuts sooner than the subdivision does)
    assert quoted == {
        "QUOTE1": text,
        "PINQUOTE1_1": "(1) the purpose and character of the use, see clause",
    }
    assert first_subdivision(merged, "(1) whole words (2)") == "(1) whole words"
    cross = "(1) under Rule 41(2), see (2)(A) and (2) more"
    assert first_subdivision(merged, cross) == "(1) under Rule 41(2), see (2)(A) and"
    assert first_subdivision(merged, "(1) no second label here") == "(1) no second label here"
    tenth = dataclasses.replace(merged, pinpoints=("(1)", "(1)(A)", "(10)"))
    assert first_subdivision(tenth, "(1) one: (A) a; (10) ten") == "(1) one: (A) a;"
    nested = dataclasses.replace(merged, pinpoints=("(1)", "(1)(A)", "(1)(B)"))
    assert (
        first_subdivision(nested, "(1) a rule: (A) one; (B) two") == "(1) a rule: (A) one; (B) two"
    )


def test_a_merged_passage_s_lines_say_where_each_subdivision_stands(passages):
    # 39 U.S.C. § 410(a)–(b): read by its labels alone, (a) would end at its own
    # cross-reference, "(a) Except as provided by subsection"
    text = (
        "(a) Except as provided by subsection (b) of this section, no Federal law shall apply "
        "to the exercise of the powers of the Postal Service.\n(b) The following provisions "
        "shall apply to the Postal Service: section 552 of title 5."
    )
    merged = merged_passage(passages[1].chunk, text, ("(a)", "(b)"), "39 U.S.C. § 410")
    shown = " ".join(text.split())
    assert first_subdivision(merged, shown) == text.split("\n")[0]
    # the prompt's cut of a long passage: what it shows of (a)
    assert first_subdivision(merged, shown[:40]) == shown[:40]
    grammar = rules(answer_grammar([Passage(merged, 1.0)], [shown]) or "")
    quoted = {
        grammar[f"pin1_{k}"]: json.loads(grammar[f"PINQUOTE1_{k}"].split(" & %regex ", 1)[1])
        for k in (1, 2)
    }
    # each subdivision the passage shows may be cited with its own words
    assert quoted == {
        '"39 U.S.C. § 410(a)"': {"substring_words": text.split("\n")[0]},
        '"39 U.S.C. § 410(b)"': {"substring_words": text.split("\n")[1]},
    }
    cut = rules(answer_grammar([Passage(merged, 1.0)], [shown[:40]]) or "")
    assert cut["pin1_1"] == '"39 U.S.C. § 410(a)"' and "pin1_2" not in cut  # (b) not shown


# Fed. R. Evid. 201(e)–(f), as the chunker merges it: a subdivision a line
JUDICIAL_NOTICE = (
    "(e) Opportunity to Be Heard. On timely request, a party is entitled to be heard on the "
    "propriety of taking judicial notice and the nature of the fact to be noticed.\n"
    "(f) Instructing the Jury. In a civil case, the court must instruct the jury to accept the "
    "noticed fact as conclusive. In a criminal case, the court must instruct the jury that it "
    "may or may not accept the noticed fact as conclusive."
)


def test_an_answer_cites_the_subdivision_the_question_points_to(passages):
    merged = merged_passage(
        passages[1].chunk, JUDICIAL_NOTICE, ("(e)", "(f)"), "Fed. R. Evid. 201", "fre:201"
    )
    shown = " ".join(JUDICIAL_NOTICE.split())
    asked = "Must a jury accept a judicially noticed fact as conclusive?"
    assert pointed_claim(merged, shown, asked) == (
        "Fed. R. Evid. 201(f)",
        JUDICIAL_NOTICE.split("\n")[1],
    )
    grammar = rules(answer_grammar([Passage(merged, 1.0)], [shown], question=asked) or "")
    # that subdivision alone, with its own words: not the span, not (e)
    assert grammar["source1"].startswith("pin1_1 ") and " | " not in grammar["source1"]
    assert grammar["pin1_1"] == '"Fed. R. Evid. 201(f)"' and "cite1" not in grammar
    words = json.loads(grammar["PINQUOTE1_1"].split(" & %regex ", 1)[1])["substring_words"]
    assert words == JUDICIAL_NOTICE.split("\n")[1]
    # words both subdivisions hold as much of, or none of: the model chooses, as without one
    for unclear in ("What does the rule provide about notice?", "Who pays the costs?"):
        assert pointed_claim(merged, shown, unclear) is None
        either = rules(answer_grammar([Passage(merged, 1.0)], [shown], question=unclear) or "")
        assert either == rules(answer_grammar([Passage(merged, 1.0)], [shown]) or "")
        assert {"cite1", "pin1_1", "pin1_2"} <= set(either)


def test_of_subdivisions_holding_as_many_of_the_question_s_words_the_outermost_is_cited(
    passages,
):
    text = (
        "(b) The court may relieve a party from a final judgment for the following reasons:\n"
        "(1) mistake, inadvertence, surprise, or excusable neglect;\n"
        "(2) newly discovered evidence."
    )
    merged = merged_passage(passages[1].chunk, text, ("(b)", "(b)(1)", "(b)(2)"),
                            "Fed. R. Civ. P. 60", "frcp:60")  # fmt: skip
    shown = " ".join(text.split())
    # (b)'s words hold its items': "excusable neglect" is as much in (b) as in (b)(1)
    cited, _ = pointed_claim(merged, shown, "Does excusable neglect count?") or ("", "")
    assert cited == "Fed. R. Civ. P. 60(b)"
    cited, _ = pointed_claim(merged, shown, "Is newly discovered evidence enough?") or ("", "")
    assert cited == "Fed. R. Civ. P. 60(b)"
    # a passage that shows one subdivision only points nowhere
    single = merged_passage(passages[1].chunk, "(b) one line", ("(b)",), "Fed. R. Civ. P. 60")
    assert pointed_claim(single, "(b) one line", "one line") is None


def test_a_question_the_opening_words_answer_is_cited_to_the_whole_section(passages):
    opening = (
        "Notwithstanding the provisions of section 106, the fair use of a copyrighted work for "
        "purposes such as criticism, comment or teaching is not an infringement of copyright. "
        "The factors to be considered shall include—"
    )
    text = f"{opening}\n(1) the purpose and character of the use;\n(2) the nature of the work."
    section = dataclasses.replace(
        passages[1].chunk, citation="17 U.S.C. § 107", pinpoint="", pinpoints=("", "(1)", "(2)"),
        text=text,
    )  # fmt: skip
    shown = " ".join(text.split())
    asked = "When is the use of a copyrighted work a fair use rather than an infringement?"
    assert pointed_claim(section, shown, asked) == ("17 U.S.C. § 107", opening)
    grammar = rules(answer_grammar([Passage(section, 1.0)], [shown], question=asked) or "")
    assert grammar["pin1_1"] == '"17 U.S.C. § 107"' and "pin1_2" not in grammar
    # the opening sentences' words, not a factor's, quoted from where a sentence opens
    quotes = re.compile(grammar["PINQUOTE1_1"].removeprefix("/").removesuffix("/"))
    assert quotes.fullmatch("Notwithstanding the provisions of section 106, the fair use")
    assert quotes.fullmatch("The factors to be considered shall include—")
    assert not quotes.fullmatch("the fair use of a copyrighted work")  # inside a sentence
    assert not quotes.fullmatch("(1) the purpose and character")
    assert not quotes.fullmatch("Notwithstanding the provisions")  # fewer than four words
    assert not quotes.fullmatch(" ".join(opening.split()[:31]))  # more than thirty
    # a question one factor answers better is cited there
    assert pointed_claim(section, shown, "Does the nature of the work matter?") == (
        "17 U.S.C. § 107(2)",
        "(2) the nature of the work.",
    )


def test_quotes_are_bounded_and_text_is_escaped(passages):
    chunk = dataclasses.replace(passages[0].chunk, title='The "fair use" rule')
    grammar = rules(answer_grammar([Passage(chunk, 1.0)], ['a "quoted" word and \\ more']) or "")
    bound = re.match(r"/.*\( \[\^ \]\+\)\{(\d+),(\d+)\}/ ", grammar["QUOTE1"])
    assert bound and (int(bound[1]), int(bound[2])) == (3, MAX_QUOTE_WORDS - 1)
    assert json.loads(grammar["QUOTE1"].split(" & %regex ", 1)[1]) == {
        "substring_words": 'a "quoted" word and \\ more'
    }
    assert '(" (The \\"fair use\\" rule)")?' in grammar["source1"]
    # a source of two words may be quoted whole; one with none offers no alternative
    two = rules(answer_grammar([Passage(chunk, 1.0)] * 2, ["[Reserved.]", ""], source="any") or "")
    assert "( [^ ]+){0," in two["QUOTE1"]
    assert "source2" not in two
