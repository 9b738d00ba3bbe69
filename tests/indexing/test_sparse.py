"""The legal-aware tokenizer and BM25 sparse weights."""

from __future__ import annotations

import pytest

from indexing.sparse import Bm25Encoder, term_id, tokenize

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
