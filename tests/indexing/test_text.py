"""The one sentence splitter and its rules (`indexing.text`), on real legal text."""

from __future__ import annotations

import re

import pytest

from indexing.text import CLAUSES, PROSE, STOPWORDS, SentenceRule, sentence_spans, split_sentences

pytestmark = pytest.mark.unit

FRE_702 = (
    "A witness who is qualified as an expert may testify in the form of an opinion or "
    "otherwise if: (a) the expert's knowledge will help the trier of fact; and (b) the "
    "testimony is based on sufficient facts or data. See Fed. R. Evid. 703. It applies."
)


def test_prose_keeps_legal_abbreviations_and_clauses_split_at_colons():
    assert split_sentences(FRE_702, PROSE) == [
        "A witness who is qualified as an expert may testify in the form of an opinion or "
        "otherwise if: (a) the expert's knowledge will help the trier of fact; and (b) the "
        "testimony is based on sufficient facts or data.",
        "See Fed. R. Evid. 703.",
        "It applies.",
    ]
    assert split_sentences(FRE_702, CLAUSES) == [
        "A witness who is qualified as an expert may testify in the form of an opinion or "
        "otherwise if:",
        "(a) the expert's knowledge will help the trier of fact; and (b) the testimony is "
        "based on sufficient facts or data.",
        "See Fed.",
        "R.",
        "Evid. 703.",
        "It applies.",
    ]


def test_spans_give_the_text_back_and_protected_spans_hold_no_boundary():
    text = "Fair use is no infringement. «A quote. Still the quote.» The end."
    spans = sentence_spans(text, PROSE)
    assert " ".join(text[a:b].strip() for a, b in spans) == text
    quoted = (text.index("«"), text.index("»") + 1)
    rule = SentenceRule(re.compile(r"(?<=[.»])(?P<end>)\s+"))
    assert [text[a:b].strip() for a, b in sentence_spans(text, rule, [quoted])] == [
        "Fair use is no infringement.",
        "«A quote. Still the quote.»",
        "The end.",
    ]


def test_stopwords_are_lower_case_function_words():
    assert {"the", "of", "shall"} <= STOPWORDS
    assert all(w == w.lower() for w in STOPWORDS)
