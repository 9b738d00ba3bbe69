"""The extractive backend, the prompt and the answer format."""

from __future__ import annotations

import dataclasses
import re

import pytest

from indexing.model import Passage, SearchFilters
from serving import answer_format as fmt
from serving.generators.extractive import NO_SOURCES, ExtractiveGenerator
from serving.prompt import SYSTEM_PROMPT, build_messages
from serving.subdivisions import narrowest_citation
from tests.serving.corpus_slice import merged_passage

pytestmark = pytest.mark.unit


def test_extractive_answer_is_fully_cited_and_verifies(retriever, verifier):
    question = "Is fair use of a copyrighted work for teaching an infringement of copyright?"
    passages = retriever.search(question, 5, SearchFilters())
    answer = ExtractiveGenerator().compose(question, passages)
    report = verifier.verify(answer, passages)
    assert fmt.quotes(answer), answer
    assert report.all_verified, report
    assert report.by_status.get("verified", 0) >= 2
    assert "17 U.S.C. § 107" in answer
    # the most relevant sentence of § 107 is quoted
    assert "is not an infringement of copyright" in answer


def test_extractive_puts_governing_provisions_before_opinions(retriever, verifier):
    statute = retriever.chunks[0]
    opinion = statute.__class__(**{
        **{f: getattr(statute, f) for f in statute.__slots__},
        "doc_id": "cap:1", "kind": "opinion", "title": "Campbell v. Acuff-Rose Music, Inc.",
        "citation": "510 U.S. 569", "doc_citation": "510 U.S. 569", "pinpoint": "",
        "text": "The fair use of a copyrighted work for parody is not an infringement per se.",
    })  # fmt: skip
    passages = [Passage(opinion, 9.0), Passage(statute, 1.0)]
    answer = ExtractiveGenerator().compose("fair use of a copyrighted work", passages)
    assert answer.index("[2]") < answer.index("[1]")
    assert "the court stated" in answer
    assert verifier.verify(answer, passages).by_status.get("misquoted", 0) == 0


def test_extractive_cites_the_subdivision_whose_words_it_quotes(passages, verifier):
    opening = "Judicial notice may be taken of a fact not subject to reasonable dispute."
    text = (
        f"{opening}\n"
        "(e) On timely request, a party is entitled to be heard on the propriety of taking "
        "judicial notice.\n"
        "(f) In a civil case, the court must instruct the jury to accept the noticed fact as "
        "conclusive. In a criminal case, the court must instruct the jury that it may or may "
        "not accept the noticed fact as conclusive."
    )
    merged = merged_passage(passages[1].chunk, text, ("", "(e)", "(f)"))
    rule = dataclasses.replace(merged, citation=merged.doc_citation, pinpoint="")
    sentences = text.split("\n")[2].split(". ")
    assert narrowest_citation(rule, sentences) == f"{rule.doc_citation}(f)"
    # words of two subdivisions, of the opening, or none: the passage's own citation
    assert narrowest_citation(rule, [text.split("\n")[1], sentences[0]]) == rule.citation
    assert narrowest_citation(rule, [opening]) == rule.citation
    assert narrowest_citation(rule, []) == rule.citation
    answer = ExtractiveGenerator().compose(
        "Must the jury accept a noticed fact as conclusive?", [Passage(rule, 1.0)]
    )
    assert answer.startswith(f"Under {rule.doc_citation}(f): "), answer
    report = verifier.verify(answer, [Passage(rule, 1.0)])
    assert report.all_verified, report


def test_extractive_without_passages_says_so():
    assert ExtractiveGenerator().compose("anything", []) == NO_SOURCES


def test_extractive_rejects_bad_configuration():
    with pytest.raises(ValueError, match="at least 1"):
        ExtractiveGenerator(max_sources=0)


def test_prompt_numbers_sources_with_citations_and_budget(passages):
    prompt = build_messages("What is fair use?", passages, max_chars_total=10_000)
    system, user = prompt.messages
    assert system["content"] == SYSTEM_PROMPT
    assert fmt.QUOTE_BEGIN in SYSTEM_PROMPT and "[1]" in SYSTEM_PROMPT
    assert "[1] 17 U.S.C. § 107 —" in user["content"]
    assert "[2] 17 U.S.C. § 107(1) —" in user["content"]
    assert user["content"].rstrip().endswith("Answer with citations:")
    assert prompt.n_sources == 2
    small = build_messages("What is fair use?", passages, max_chars_per_source=100,
                           max_chars_total=150)  # fmt: skip
    assert small.n_sources == 1
    assert "…" in small.messages[1]["content"]


def test_answer_format_helpers():
    answer = fmt.training_answer([("Fair use", "is not an infringement", 1), ("", "x y z", 2)])
    assert answer == (
        "Fair use ##begin_quote##is not an infringement##end_quote## [1]. "
        "##begin_quote##x y z##end_quote## [2]."
    )
    assert [m.n for m in fmt.markers(answer)] == [1, 2]
    assert [q.text for q in fmt.quotes(answer)] == ["is not an infringement", "x y z"]
    assert fmt.render(answer).startswith("Fair use “is not an infringement” [1].")
    assert len(fmt.sentences(answer)) == 2
    assert len(fmt.sentences("Under 17 U.S.C. § 107 it is fair [1]. Fed. R. Civ. P. 12 too.")) == 2
    # a reporter's abbreviations inside the citation of an opinion (the extractive lead-in)
    opinion = (
        "In D.G. v. K.S. (444 N.J. Super. 423, ¶ 8), the court stated: "
        "##begin_quote##Lastly, plaintiffs requested counsel fees and costs.##end_quote## [4]. "
        "In Smith v. Jones (12 So. 3d 45, ¶ 2), it held so. It did (see above)."
    )
    assert len(fmt.sentences(opinion)) == 3
    # a parenthesis a model leaves open does not join its claims into one
    assert len(fmt.sentences("Fair use (see [1]. Copying is always fine.")) == 2
    assert len(fmt.sentences("It is fair use (17 U.S.C. 107. Copying is fine.")) == 2
    regex = fmt.constrain_citations_regex(2)
    import re

    assert re.fullmatch(regex, "a [1] b [2].")
    assert not re.fullmatch(regex, "a [3].")


@pytest.mark.parametrize(
    ("answer", "declines"),
    [
        (fmt.NOT_ANSWERED, True),  # the sentence RAFT rows teach
        ("The provided sources do not address whether a merger may be blocked.", True),
        ("None of the passages answers this, so I cannot answer it from them.", True),
        ("The sources do not answer every part, but fair use is not an infringement [1].", False),
        ("The passages do not address it: ##begin_quote##the fair use##end_quote##", False),
        ("Fair use is a defence to infringement.", False),  # uncited, but an answer
        ("Rule 12 says a defendant must answer within 21 days.", False),
    ],
)
def test_a_model_answer_that_says_the_sources_do_not_answer(answer: str, declines: bool):
    """Only an answer that cites no source and says the sources do not answer declines; an
    answer that cites one answers whatever else it says."""
    assert fmt.says_not_answered(answer) is declines


def test_extractive_quotes_the_definition_of_the_term_asked_about(retriever):
    # one passage: a short clause that only mentions the term, and the term's long definition
    base = retriever.chunks[0]
    text = (
        "(d) the categories of personal data concerned; "
        "(1) ‘personal data’ means any information relating to an identified or identifiable "
        "natural person (‘data subject’); an identifiable natural person is one who can be "
        "identified, directly or indirectly, in particular by reference to an identifier such "
        "as a name, an identification number, location data or an online identifier;"
    )
    fields = {f: getattr(base, f) for f in base.__slots__}
    chunk = base.__class__(**{**fields, "doc_id": "gdpr:art4", "citation": "GDPR Art. 4",
                              "text": text, "kind": "regulation"})  # fmt: skip
    one = ExtractiveGenerator(sentences_per_source=1)
    answer = one.compose("What counts as personal data?", [Passage(chunk, 1.0)])
    assert "‘personal data’ means" in answer and "(d) the categories" not in answer, answer
    # a question that does not ask about the defined term gets the clause it matches
    other = one.compose("Which categories of data?", [Passage(chunk, 1.0)])
    assert "(d) the categories" in other and "means" not in other, other


def test_extractive_weighs_the_retrieval_rank_of_the_passages(retriever):
    # four passages quoted of six: a clause matching a little better does not put a
    # low-ranked passage before the retrieval's first ones
    base = retriever.chunks[0]
    fields = {f: getattr(base, f) for f in base.__slots__}

    def passage(n: int, text: str) -> Passage:
        return Passage(base.__class__(**{**fields, "doc_id": f"d:{n}", "citation": f"D {n}",
                                         "text": text, "kind": "statute"}), 1.0)  # fmt: skip

    first = [passage(n, f"A registered copyright owner may sue for infringement {n}.")
             for n in range(1, 5)]  # fmt: skip
    last = [passage(n, "A copyright owner may sue for infringement.") for n in (5, 6)]
    answer = ExtractiveGenerator().compose(
        "May a copyright owner sue for infringement?", [*first, *last]
    )
    assert [int(n) for n in re.findall(r"\[(\d+)\]", answer)] == [1, 2, 3, 4], answer
