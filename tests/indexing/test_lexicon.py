"""The names of provisions, mined from text next to the provisions, expanding sparse queries."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.lexicon import Lexicon, heading_terms, mine_lexicon
from indexing.sparse import Bm25Encoder, term_id
from indexing.tuning.names import resolve

pytestmark = pytest.mark.unit

HEADINGS = {
    "usc:40/3133": "§ 3133. Rights of persons furnishing labor or material",
    "usc:40/3131": "§ 3131. Bonds of contractors of public buildings or works",
    "gdpr:art17": "Article 17 — Right to erasure (‘right to be forgotten’)",
    "usc:45/51": "§ 51. Liability of common carriers by railroad for injuries to employees",
    "usc:41/101": "§ 101. Definitions",
    "usc:41/102": "§ 102. Definitions",
    "usc:41/103": "§ 103. Definitions",
    "usc:41/104": "§ 104. Definitions",
}
# sentences as the US Code writes them (notes and text), with the provision they cite
TEXTS = [
    (
        "usc:39/410",
        "The Act of August 24, 1935 (commonly known as the ‘Miller Act’) (40 U.S.C. 3133) "
        "applies to contracts of the Postal Service.",
    ),
    ("usc:45/1203", "the Federal Employers’ Liability Act (45 U.S.C. 51 et seq.) applies."),
    ("usc:41/101", "This Act may be cited as the ‘Buy American Act’."),
    ("usc:30/1", "the term ‘station’ is referred to as the ‘station’ in 30 U.S.C. 1."),
]


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return mine_lexicon(TEXTS, HEADINGS, resolve)


def test_names_next_to_their_provisions(lexicon: Lexicon):
    by_name = {e.name: e for e in lexicon.entries}
    assert by_name["Miller Act"].targets == ("usc:40/3133",)
    assert by_name["right to be forgotten"].targets == ("gdpr:art17",)
    assert "usc:45/51" in by_name["Federal Employers’ Liability Act"].targets
    # a name pointing at a heading many provisions share says nothing: no entry
    assert "Buy American Act" not in by_name
    # an alias in running text must be a proper name
    assert "station" not in {n.lower() for n in by_name}


def test_expansion_adds_the_named_provisions_heading_words(lexicon: Lexicon):
    extra = lexicon.expand("Can a subcontractor sue on a Miller Act bond?")
    assert {"furnishing", "labor", "material"} <= set(extra)
    assert all(w == lexicon.weight for w in extra.values())
    assert "bond" not in extra  # the question's own terms keep their weight
    assert lexicon.expand("Can a subcontractor sue on a payment bond?") == {}
    vec = Bm25Encoder().query("Miller Act bond")
    grown = lexicon.expand_vector("Miller Act bond", vec).as_dict()
    # in the encoder's own terms: stemmed, as the build's points are
    assert grown[term_id("furnish")] == lexicon.weight
    assert term_id("furnishing") not in grown
    old = Bm25Encoder(sparse_format=1)
    assert (
        lexicon.expand_vector("Miller Act bond", old.query("Miller Act bond"), old).as_dict()[
            term_id("furnishing")
        ]
        == lexicon.weight
    )
    assert all(grown[i] == 1.0 for i in vec.indices)


def test_heading_terms_drop_the_label():
    assert heading_terms("§ 3133. Rights of persons furnishing labor or material") == (
        "rights",
        "persons",
        "furnishing",
        "labor",
        "material",
    )


def test_file_round_trip(lexicon: Lexicon, tmp_path: Path):
    lexicon.save(tmp_path / "lexicon.json")
    again = Lexicon.load(tmp_path / "lexicon.json")
    assert again.entries == lexicon.entries
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match=r"bad\.json"):
        Lexicon.load(tmp_path / "bad.json")
