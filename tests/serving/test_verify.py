"""Citation verification: markers, quotes, legal citations, unsupported claims."""

from __future__ import annotations

import dataclasses

import pytest

from indexing.model import Passage
from serving.answer_format import quote, quoted_in
from serving.verify import pinpoints_compatible
from tests.serving.corpus_slice import USC_107_1, merged_passage

pytestmark = pytest.mark.unit


def statuses(report):
    return [(c.kind, c.n, c.status) for c in report.citations]


def test_verbatim_quotes_with_valid_markers_verify(verifier, passages):
    answer = (
        f"Fair use {quote('is not an infringement of copyright')} [1]. "
        f"Courts weigh {quote('the purpose and character of   the use')} [2]."
    )
    report = verifier.verify(answer, passages)
    assert statuses(report) == [("source", 1, "verified"), ("source", 2, "verified")]
    assert report.citations[1].quote == "the purpose and character of   the use"
    assert report.citations[1].anchor == "p-1"
    assert report.unsupported == ()
    assert report.all_verified


def test_marker_for_a_source_not_given_is_not_in_sources(verifier, passages):
    report = verifier.verify("Fair use is a defence to infringement [3].", passages)
    assert statuses(report) == [("source", 3, "not_in_sources")]
    assert "was not given" in report.citations[0].message
    assert len(report.unsupported) == 1
    assert not report.all_verified


def test_quote_not_verbatim_is_misquoted(verifier, passages):
    answer = f"Fair use {quote('is never an infringement of copyright')} [1]."
    report = verifier.verify(answer, passages)
    assert statuses(report) == [("source", 1, "misquoted")]
    assert "not verbatim" in report.citations[0].message
    assert report.unsupported  # the only marker failed, so the claim is unsupported


def test_a_quote_may_run_across_the_subdivision_labels_a_passage_prints():
    # passages print each subdivision's label where its words begin (`(1) the purpose …`)
    source = (
        "In determining whether the use made of a work in any particular case is a fair use "
        "the factors to be considered shall include—\n(1) the purpose and character of the "
        "use;\n(2) the nature of the copyrighted work;"
    )
    assert quoted_in("shall include— the purpose and character of the use", source)
    assert quoted_in("shall include— (1) the purpose and character", source)
    assert quoted_in("the use; the nature of the copyrighted work", source)
    assert not quoted_in("shall include— the purpose and character of the abuse", source)
    assert not quoted_in("shall include— (2) the purpose", source)


def test_quote_attributed_to_the_wrong_source_is_misquoted(verifier, passages):
    # the words are in source 2, not source 1
    answer = f"The factors include {quote(USC_107_1[:40])} [1]."
    assert statuses(verifier.verify(answer, passages)) == [("source", 1, "misquoted")]


def test_legal_citation_among_sources_is_verified(verifier, passages):
    answer = "Under 17 U.S.C. § 107(1) the purpose of the use matters [2]."
    report = verifier.verify(answer, passages)
    legal = [c for c in report.citations if c.kind == "legal"]
    assert [(c.doc_id, c.pinpoint, c.status, c.n) for c in legal] == [
        ("usc:17/107", "(1)", "verified", 2)
    ]


def test_a_pinpoint_the_document_lacks_is_not_verified_by_a_passage_of_it(verifier, passages):
    # a small model wrote this in a demo answer: § 107 has factors (1)-(4), no subsection (a)
    answer = "Under 17 U.S.C. § 107(a)(1) the purpose of the use matters [2]."
    legal = [c for c in verifier.verify(answer, passages).citations if c.kind == "legal"]
    assert [(c.doc_id, c.pinpoint, c.status, c.n) for c in legal] == [
        ("usc:17/107", "(a)(1)", "unknown", None)
    ]
    assert "has no pinpoint (a)(1)" in legal[0].message


def test_legal_citation_in_corpus_but_not_in_sources(verifier, passages):
    answer = "An expert may testify under Fed. R. Evid. 702 when qualified [1]."
    legal = [c for c in verifier.verify(answer, passages).citations if c.kind == "legal"]
    assert [(c.doc_id, c.status, c.n) for c in legal] == [("fre:702", "in_corpus", None)]


def test_legal_citation_not_in_corpus_is_unknown(verifier, passages):
    answer = "Civil rights claims arise under 42 U.S.C. § 1983 in such cases [1]."
    legal = [c for c in verifier.verify(answer, passages).citations if c.kind == "legal"]
    assert [(c.doc_id, c.status) for c in legal] == [("usc:42/1983", "unknown")]
    assert legal[0].message == "not found in the corpus"


def test_case_citation_not_in_corpus_is_unknown(verifier, passages):
    answer = "See Roe v. Wade, 410 U.S. 113 (1973), on a different question [1]."
    legal = [c for c in verifier.verify(answer, passages).citations if c.kind == "legal"]
    assert [(c.canonical if hasattr(c, "canonical") else c.citation, c.status) for c in legal] == [
        ("410 U.S. 113", "unknown")
    ]


def test_sentence_without_citation_counts_as_unsupported(verifier, passages):
    answer = (
        f"Fair use {quote('is not an infringement of copyright')} [1]. "
        "It also protects every parody ever written. Short."
    )
    report = verifier.verify(answer, passages)
    assert report.unsupported == ("It also protects every parody ever written.",)


def test_citations_inside_quotes_are_not_resolved_again(verifier, passages):
    answer = f"{quote('Notwithstanding the provisions of sections 106 and 106A')} [1]."
    report = verifier.verify(answer, passages)
    assert [c.kind for c in report.citations] == ["source"]


@pytest.mark.parametrize(
    ("cited", "given", "ok"),
    [
        ("(a)", "(a)(1)", True),
        ("(a)(1)(B)", "(a)(1)", True),
        ("", "(b)", True),
        ("(b)", "(a)", False),
    ],
)
def test_pinpoints_compatible(cited, given, ok):
    assert pinpoints_compatible(cited, given) is ok


def test_a_source_cited_as_it_names_itself_verifies(verifier, passages):
    """A citation the parser maps to no document id (a Public Law section printed in the US
    Code's appendix) verifies when it is how a source given names itself, as the extractive
    answer writes it; the same citation with no such source stays unknown."""
    act = dataclasses.replace(
        passages[0].chunk,
        doc_id="usc:5a/ig-act-5",
        citation="Pub. L. 95-452, § 5 (5 U.S.C. App.)(e)(1)",
        doc_citation="Pub. L. 95-452, § 5 (5 U.S.C. App.)",
    )
    answer = f"Under Pub. L. 95-452, § 5 (5 U.S.C. App.)(e)(1): {quote('fair use')} [2]."
    legal = [c for c in verifier.verify(answer, [passages[0], Passage(act, 1.0)]).citations
             if c.kind == "legal"]  # fmt: skip
    assert ("usc:5a/ig-act-5", "verified", 2) in [(c.doc_id, c.status, c.n) for c in legal]
    alone = [c for c in verifier.verify(answer, passages).citations if c.kind == "legal"]
    assert "verified" not in [c.status for c in alone]


def test_a_case_name_with_full_stops_ends_no_sentence(verifier, passages):
    """The extractive lead-in names an opinion by its title and citation; an Indian
    judgment's title may hold full stops (`And Others., Etc. Etc.`), which end no sentence."""
    name = "State Of Haryana And Others v Charanjit Singh And Others., Etc. Etc."
    judgment = dataclasses.replace(
        passages[0].chunk, title=name, citation=f"{name}, ¶ 29", doc_citation=name
    )
    answer = (
        f"In {name} ({name}, ¶ 29), the court stated: {quote('fair use')} [1]. "
        "Copying a whole work is never a fair use."
    )
    report = verifier.verify(answer, [Passage(judgment, 1.0)])
    assert report.unsupported == ("Copying a whole work is never a fair use.",)


def test_a_marker_after_a_citation_of_other_law_is_misattributed(verifier, passages):
    # [1] is § 107's opening words, [2] is § 107(1): neither is § 504(c)
    report = verifier.verify("17 U.S.C. § 504(c) [1] allows statutory damages.", passages)
    marker = next(c for c in report.citations if c.kind == "source")
    assert (marker.n, marker.status) == (1, "misattributed")
    assert marker.message == "[1] is 17 U.S.C. § 107, not 17 U.S.C. § 504(c)"
    assert report.unsupported  # its only marker failed, so the claim is unsupported
    assert not report.all_verified


def test_a_marker_at_another_subdivision_of_the_cited_law_is_misattributed(verifier, passages):
    report = verifier.verify("17 U.S.C. § 107(2) [2] weighs the nature of the work.", passages)
    assert [(c.kind, c.n, c.status) for c in report.citations if c.kind == "source"] == [
        ("source", 2, "misattributed")
    ]
    marker = next(c for c in report.citations if c.kind == "source")
    assert marker.message == "[2] is 17 U.S.C. § 107(1), not 17 U.S.C. § 107(2)"


def test_a_marker_holding_the_cited_law_or_apart_from_it_stays_verified(verifier, passages):
    for answer in (
        "Under 17 U.S.C. § 107(1) [2], the purpose of the use matters.",
        "Under 17 U.S.C. § 107(1), the purpose of the use matters [2].",  # not right after
        "17 U.S.C. § 504(c) is not among them; fair use is a defence [1].",
    ):
        markers = [c for c in verifier.verify(answer, passages).citations if c.kind == "source"]
        assert [c.status for c in markers] == ["verified"], answer


def test_one_source_of_a_run_holding_the_cited_law_is_enough(verifier, passages):
    other = dataclasses.replace(
        passages[1].chunk, doc_id="usc:17/504", citation="17 U.S.C. § 504(c)", pinpoint="(c)"
    )
    given = [*passages, Passage(other, 0.5)]
    held = verifier.verify("Under 17 U.S.C. § 107(1) [3][2], purpose matters.", given)
    assert [c.status for c in held.citations if c.kind == "source"] == ["verified"] * 2
    held_by_none = verifier.verify("17 U.S.C. § 412 [3][2] bars statutory damages.", given)
    assert [c.status for c in held_by_none.citations if c.kind == "source"] == ["misattributed"] * 2


def test_a_marker_opening_a_sentence_names_the_citation_after_it(verifier, passages):
    # the lead the `legal` adapter is trained to write: the source's number, then its citation
    wrong = verifier.verify("[1] 17 U.S.C. § 504(c) governs this question.", passages)
    marker = next(c for c in wrong.citations if c.kind == "source")
    assert (marker.n, marker.status) == (1, "misattributed")
    assert marker.message == "[1] is 17 U.S.C. § 107, not 17 U.S.C. § 504(c)"
    for answer in (
        "Fair use is a defence [1]. [2]: 17 U.S.C. § 504(c) allows statutory damages.",
        "A defence:\n- [1][2] (17 U.S.C. § 504(c)) allows statutory damages.",
    ):
        markers = [c for c in verifier.verify(answer, passages).citations if c.kind == "source"]
        assert markers[-1].status == "misattributed", answer
    for answer in (
        "[2] 17 U.S.C. § 107(1) governs this question.",  # the source is that law
        "[2][1] 17 U.S.C. § 107 governs this question.",  # one source of the run is
        "Fair use is a defence [1] 17 U.S.C. § 504(c) aside.",  # after words of its sentence
        "Fair use is a defence [1]. Then 17 U.S.C. § 504(c) allows damages [2] too.",
    ):
        markers = [c for c in verifier.verify(answer, passages).citations if c.kind == "source"]
        assert {c.status for c in markers} == {"verified"}, answer


def test_a_misquote_after_a_citation_of_other_law_stays_a_misquote(verifier, passages):
    answer = f"17 U.S.C. § 504(c) [1] says {quote('statutory damages may be elected')}."
    markers = [c for c in verifier.verify(answer, passages).citations if c.kind == "source"]
    assert [c.status for c in markers] == ["misquoted"]


def test_a_merged_passage_holds_each_pinpoint_whose_text_it_holds(verifier, passages):
    merged = dataclasses.replace(
        passages[1].chunk, doc_id="usc:17/504", citation="17 U.S.C. § 504(a)–(b)",
        pinpoint="(a)–(b)", pinpoints=("(a)", "(b)"),
    )  # fmt: skip
    given = [*passages, Passage(merged, 0.5)]
    report = verifier.verify("17 U.S.C. § 504(b) [3] awards actual damages.", given)
    assert [(c.kind, c.n, c.status) for c in report.citations] == [
        ("legal", 3, "verified"), ("source", 3, "verified")
    ]  # fmt: skip
    other = verifier.verify("17 U.S.C. § 504(c) [3] awards statutory damages.", given)
    assert [c.status for c in other.citations if c.kind == "source"] == ["misattributed"]


def test_a_quote_read_under_one_subdivision_of_a_merged_passage_is_in_its_words(verifier, passages):
    # the answer the `legal` adapter wrote over Fed. R. Civ. P. 60(a)–(b)(4): (a) cited, the
    # words of (b)(1) quoted; the passage holds both, a lawyer would cite the wrong subdivision
    text = (
        "(a) The court may correct a clerical mistake whenever one is found in a judgment.\n"
        "(b) On motion, the court may relieve a party from a final judgment for the following "
        "reasons:\n(1) mistake, inadvertence, surprise, or excusable neglect;"
    )
    rule = merged_passage(
        passages[1].chunk, text, ("(a)", "(b)", "(b)(1)"), "Fed. R. Civ. P. 60", "frcp:60"
    )
    given = [Passage(rule, 1.0)]

    def markers(answer):
        return [
            (c.n, c.status) for c in verifier.verify(answer, given).citations if c.kind == "source"
        ]

    lead = "Fed. R. Civ. P. 60({}) [1] governs this question. It provides: {} [1]."
    wrong = verifier.verify(lead.format("a", quote("mistake, inadvertence, surprise")), given)
    marker = [c for c in wrong.citations if c.kind == "source"][-1]
    assert marker.status == "misattributed" and not wrong.all_verified
    assert marker.message.startswith("not in Fed. R. Civ. P. 60(a) (source [1] is Fed. R. Civ.")
    # crossing from (a) into (b) is not (a)'s words either
    assert markers(lead.format("a", quote("in a judgment. (b) On motion, the court"))) == [
        (1, "verified"), (1, "misattributed")
    ]  # fmt: skip
    for pin, words in (
        ("a", "The court may correct a clerical mistake"),  # (a)'s own
        ("b)(1", "mistake, inadvertence, surprise"),  # (1) of (b)
        ("b)(1", "the court may relieve a party"),  # (b)'s lead-in, above (1)
        ("b", "mistake, inadvertence, surprise"),  # under (b)
    ):
        assert markers(lead.format(pin, quote(words))) == [(1, "verified")] * 2, pin
    # the whole rule, or no citation at all: any of its words
    assert markers(f"Under Fed. R. Civ. P. 60 [1], {quote('excusable neglect')} [1].") == [
        (1, "verified"), (1, "verified")
    ]  # fmt: skip
    assert markers(f"Relief is available for {quote('excusable neglect')} [1].") == [
        (1, "verified")
    ]
    # a later citation of the source resets what its quotes are read under
    later = (
        "Fed. R. Civ. P. 60(a) [1] covers clerical mistakes. Fed. R. Civ. P. 60(b)(1) [1] "
        f"covers {quote('excusable neglect')} [1]."
    )
    assert markers(later) == [(1, "verified")] * 3
