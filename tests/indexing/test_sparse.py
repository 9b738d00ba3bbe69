"""The legal-aware tokenizer and BM25 sparse weights."""

from __future__ import annotations

import pytest

from indexing.sparse import SPARSE_FORMAT, Bm25Encoder, term_id, tokenize

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "must_have"),
    [
        ("42 U.S.C. § 1983", {"42", "u.s.c.", "§", "1983"}),
        ("Fed. R. Civ. P. 12(b)(6)", {"fed.", "r.", "civ.", "p.", "12(b)(6)", "12"}),
        ("17 USC 107(a)(1)", {"17", "u.s.c.", "107(a)(1)", "107"}),
        ("Title VII, 42 U.S.C. § 2000e-2(a)", {"2000e", "u.s.c."}),
        ("GDPR Art. 17(1)", {"gdpr", "art.", "17(1)", "17"}),
        ("the Court held.", {"court", "held"}),
    ],
)
def test_tokenizer_keeps_legal_tokens(text, must_have):
    assert must_have <= set(tokenize(text))


def test_tokenizer_drops_stopwords_and_sentence_full_stops():
    toks = tokenize("The appeal of the Defendant. It was dismissed.")
    assert "the" not in toks and "defendant" in toks and "defendant." not in toks


def test_bm25_document_weights_saturate_and_normalise_length():
    enc = Bm25Encoder(k1=1.2, b=0.75, avg_len=10)
    once = enc.document("copyright fair use").as_dict()
    many = enc.document("copyright copyright copyright copyright fair use").as_dict()
    cid = term_id("copyright")
    assert many[cid] > once[cid]
    assert many[cid] < 4 * once[cid]  # saturation
    assert many[cid] < enc.k1 + 1
    long_doc = enc.document("copyright " + "filler words here " * 20).as_dict()
    assert long_doc[cid] < once[cid]  # longer documents weigh a term less


def test_bm25_query_is_term_presence():
    q = Bm25Encoder().query("§ 1983 claim § 1983").as_dict()
    assert set(q.values()) == {1.0}
    assert term_id("1983") in q and term_id("§") in q
    assert list(Bm25Encoder().query("the of and").indices) == []


def test_plain_words_are_stemmed_and_legal_tokens_are_not():
    terms = Bm25Encoder().terms("Filed files filing; objections under Fed. R. Civ. P. 12(b)(6)")
    assert terms == ["file", "file", "file", "object", "fed.", "r.", "civ.", "p.", "12(b)(6)", "12"]
    assert Bm25Encoder().terms("42 U.S.C. § 1983, Title VII's 2000e") == [
        "42", "u.s.c.", "§", "1983", "titl", "vii", "2000e"
    ]  # fmt: skip
    assert Bm25Encoder().sparse_format == SPARSE_FORMAT == 2


def test_a_question_meets_the_provisions_inflections_only_when_stemmed():
    rule = "the notice of appeal required by Rule 3 must be filed with the district clerk"
    question = "How long do I have for filing a notice of appeal?"
    for fmt, shared in ((2, {"notic", "appeal", "file"}), (1, {"notice", "appeal"})):
        enc = Bm25Encoder(sparse_format=fmt)
        common = set(enc.document(rule).indices) & set(enc.query(question).indices)
        assert common == {term_id(t) for t in shared}


def test_an_unknown_sparse_format_is_refused():
    with pytest.raises(ValueError, match="unknown sparse format 3"):
        Bm25Encoder(sparse_format=3)
    enc = Bm25Encoder(k1=0.9)
    assert enc.with_format(2) is enc
    assert enc.with_format(1).k1 == 0.9 and enc.with_format(1).terms("filed") == ["filed"]
