"""Federal Rules adapter on the real yearly Markdown files, and on broken copies of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from legal_corpus.adapters import IngestReport, iter_documents
from legal_corpus.adapters._text import PinpointTreeBuilder, label_kinds
from legal_corpus.adapters.base import ParseError
from legal_corpus.adapters.federal_rules import (
    FederalRulesAdapter,
    closing_after_list,
    effective_dates,
    parse_body,
    rule_number,
    strip_leaked_tail,
)
from legal_corpus.corpus import as_of, load_versions
from legal_corpus.model import Kind, Section

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("doc_id", "citation", "title_word"),
    [
        ("fre:702", "Fed. R. Evid. 702", "Expert"),
        ("frcp:12", "Fed. R. Civ. P. 12", "Defenses"),
        ("frcrmp:11", "Fed. R. Crim. P. 11", "Pleas"),
        ("frap:4", "Fed. R. App. P. 4", "Appeal"),
        ("frbp:7001", "Fed. R. Bankr. P. 7001", "Adversary"),
        ("frcp:G", "Fed. R. Civ. P. Supp. R. G", "Forfeiture"),
        ("frcrmp:12.1", "Fed. R. Crim. P. 12.1", "Alibi"),
    ],
)
def test_ids_citations_and_kind(
    corpus_dir: Path, doc_id: str, citation: str, title_word: str
) -> None:
    versions = load_versions(doc_id, corpus_dir)
    assert versions, doc_id
    latest = versions[-1]
    assert latest.doc_id == doc_id
    assert latest.citation == citation
    assert latest.kind is Kind.RULE and latest.jurisdiction == "us"
    assert title_word in latest.title
    assert latest.version.valid_to is None  # every one of these is in force today
    assert latest.source_path.endswith(".md") and "current.md" not in latest.source_path


def test_fre_702_as_of_both_sides_of_the_2023_amendment(corpus_dir: Path) -> None:
    versions = load_versions("fre:702", corpus_dir)
    before = as_of(versions, "2023-06-01")
    after = as_of(versions, "2024-01-01")
    assert before is not None and after is not None and before is not after
    assert "may testify in the form of an opinion or otherwise if:" in before.text
    assert "more likely than not" not in before.text
    assert "more likely than not" in after.text
    assert after.version.valid_from is not None
    assert after.version.valid_from.isoformat() == "2023-12-01"
    assert before.version.valid_to == after.version.valid_from
    d = after.section("(d)")
    assert d is not None and d.citation == "Fed. R. Evid. 702(d)"
    assert d.text.startswith("the expert’s opinion reflects a reliable application")


def test_frcp_12_b_6(corpus_dir: Path) -> None:
    doc = as_of(load_versions("frcp:12", corpus_dir), "2024-06-01")
    assert doc is not None
    s = doc.section("(b)(6)")
    assert s is not None
    assert s.citation == "Fed. R. Civ. P. 12(b)(6)"
    assert s.text == "failure to state a claim upon which relief can be granted; and"
    b = doc.section("(b)")
    assert b is not None and b.heading == "How to Present Defenses"
    assert b.text.startswith("Every defense to a claim for relief in any pleading must be")
    # (i) after (A) is roman: 12(a)(1)(A)(i)
    assert doc.section("(a)(1)(A)(i)") is not None
    assert doc.section("(a)(1)(A)(ii)") is not None
    pins = [s.pinpoint for s in doc.walk()]
    assert len(pins) == len(set(pins))


def test_text_not_duplicated_and_history_is_metadata(corpus_dir: Path) -> None:
    doc = load_versions("frcp:12", corpus_dir)[-1]
    assert doc.text.count("failure to state a claim upon which relief can be granted") == 1
    assert "As amended" not in doc.text
    assert "eff. Dec. 1" in doc.metadata["amendment_history"]


@pytest.mark.parametrize(
    ("doc_id", "added", "first_in_force"),
    [
        ("fre:807", "Apr. 11, 1997", "1997-12-01"),
        ("fre:413", "Sept. 13, 1994", "1995-07-09"),
        ("frbp:9037", "Apr. 30, 2007", "2007-12-01"),
    ],
)
def test_a_history_note_and_the_next_parts_heading_are_not_rule_text(
    corpus_dir: Path, doc_id: str, added: str, first_in_force: str
) -> None:
    """Some yearly files end a rule with its history note and the heading of the next
    Article or Part of the printed rules; every version reads the rule's words alone, and the
    note dates the rule's first version."""
    versions = load_versions(doc_id, corpus_dir)
    for doc in versions:
        for section in doc.walk():
            for words in (section.text, section.closing):
                assert "eff." not in words, (doc.version_key, section.citation)
                assert "ARTICLE" not in words and "PART " not in words, doc.version_key
    first = versions[0]
    assert added in first.metadata["amendment_history"]
    assert str(first.version.valid_from) == first_in_force


@pytest.mark.parametrize(
    ("body", "kept", "history"),
    [
        (
            "**(c)** Other rules. (Added Sept. 13, 1994, eff. July 9, 1995.) "
            "ARTICLE V. PRIVILEGES\n",
            "**(c)** Other rules.",
            "(Added Sept. 13, 1994, eff. July 9, 1995.)",
        ),
        (
            "not under seal. (Added Apr. 30, 2007, eff. Dec. 1, 2007.) [PART X—UNITED STATES "
            "TRUSTEES] (Abrogated Apr. 30, 1991, eff. Aug. 1, 1991) Æ",
            "not under seal.",
            "(Added Apr. 30, 2007, eff. Dec. 1, 2007.)",
        ),
        ("of fact. ARTICLE XI. MISCELLANEOUS RULES", "of fact.", ""),
        (
            "cited as the Federal Rules of Evidence. Æ",
            "cited as the Federal Rules of Evidence.",
            "",
        ),
        # the rule's own words are kept: a Part named in lower case, a title of a statute
        ("as provided in Part VII of these rules.", "as provided in Part VII of these rules.", ""),
        ("under title 11. (b) Other.", "under title 11. (b) Other.", ""),
    ],
)
def test_strip_leaked_tail(body: str, kept: str, history: str) -> None:
    assert strip_leaked_tail(body) == (kept, history)


@pytest.mark.parametrize(
    ("doc_id", "pinpoint", "last", "closing"),
    [
        ("frcp:12", "(b)", "failure to join a party under Rule 19.", "A motion asserting any"),
        ("fre:804", "(a)", "under Rule 804(b)(2), (3), or (4).", "But this subdivision (a)"),
        ("fre:801", "(d)(2)", "in furtherance of the conspiracy.", "The statement must be"),
        (
            "fre:803",
            "(5)",
            "accurately reflects the witness’s knowledge.",
            "If admitted, the record",
        ),
    ],
)
def test_a_lists_closing_words_are_its_sections_not_its_last_items(
    corpus_dir: Path, doc_id: str, pinpoint: str, last: str, closing: str
) -> None:
    """The Markdown runs the words that close a list into its last item's line; they are
    the listing section's closing words (cited by its pinpoint), read in the same place."""
    doc = load_versions(doc_id, corpus_dir)[-1]
    section = next(s for s in doc.walk() if s.pinpoint == pinpoint)
    deepest = section
    while deepest.children:
        deepest = deepest.children[-1]
    assert deepest.text.endswith(last)
    assert section.closing.startswith(closing)
    assert f"{last}\n\n{closing}" in doc.text  # reading order unchanged


def _item(label: str, text: str, *children: Section) -> Section:
    return Section(pinpoint=label, citation=f"R. 1{label}", text=text, children=children)


@pytest.mark.parametrize(
    "items",
    [
        # items of more than one sentence: the last one's second sentence is its own
        (
            _item("(1)", "Character of accused. Evidence of a trait;"),
            _item("(2)", "Character of witness. Evidence of the character of a witness."),
        ),
        # an abbreviation is not a sentence's end
        (
            _item("(1)", "a judgment;"),
            _item("(2)", "an order under Fed. R. Civ. P. 58(a) entered on the docket."),
        ),
        # the last item's own list, left unsplit by the source
        (
            _item("(1)", "the questions predominate;"),
            _item("(2)", "a class is superior. The matters include: (A) the interest of members"),
        ),
        # not a list of fragments: an item ends with a full stop
        (
            _item("(1)", "A record of a regularly conducted activity."),
            _item("(2)", "a public record. A party may object."),
        ),
    ],
)
def test_closing_words_are_not_taken_from_an_item_that_owns_them(
    items: tuple[Section, ...],
) -> None:
    section = _item("(b)", "A party may move for:", *items)
    assert closing_after_list(section) == section


def test_closing_words_go_to_the_outermost_list() -> None:
    inner = _item(
        "(a)(2)",
        "is absent and cannot be procured:",
        _item("(a)(2)(A)", "the attendance;"),
        _item("(a)(2)(B)", "the testimony. But this subdivision does not apply."),
    )
    section = _item(
        "(a)",
        "A declarant is unavailable if the declarant:",
        _item("(a)(1)", "refuses to testify; or"),
        inner,
    )
    lifted = closing_after_list(section)
    assert lifted.closing == "But this subdivision does not apply."
    assert lifted.children[-1].children[-1].text == "the testimony."
    assert lifted.children[-1].closing == ""
    before = list(section.blocks())
    assert list(lifted.blocks()) == [*before[:-1], "the testimony.", lifted.closing]


def test_structured_form_after_separator_wins(tmp_path: Path) -> None:
    body = (
        "\nThe court may strike: (a) an insufficient defense; and (b) scandalous matter.\n"
        "\n-\n\n"
        "**(a)** an insufficient defense; and\n\n**(b)** scandalous matter.\n"
    )
    text, items = parse_body(tmp_path / "x.md", body, "Fed. R. Civ. P. 99", 1)
    assert text == ""
    assert [(s.pinpoint, s.text) for s in items] == [
        ("(a)", "an insufficient defense; and"),
        ("(b)", "scandalous matter."),
    ]


def test_flat_text_splits_only_real_enumerations(tmp_path: Path) -> None:
    body = (
        "A party may move under Rule 12(b) and (c) if: (a) the motion is timely; "
        "(b) it cites subdivision (d) of this rule; and (c) it is signed."
    )
    text, items = parse_body(tmp_path / "x.md", body, "Fed. R. Civ. P. 99", 1)
    assert text == "A party may move under Rule 12(b) and (c) if:"
    assert [s.pinpoint for s in items] == ["(a)", "(b)", "(c)"]
    assert items[1].text == "it cites subdivision (d) of this rule; and"


@pytest.mark.parametrize(
    ("labels", "pinpoints"),
    [
        (["a", "1", "A", "i", "ii", "B", "2", "b"], ["(a)", "(a)(1)", "(a)(1)(A)",
         "(a)(1)(A)(i)", "(a)(1)(A)(ii)", "(a)(1)(B)", "(a)(2)", "(b)"]),
        # Supplemental Rule G: (1) (a) (i) (A)
        (["1", "a", "i", "A", "ii", "b", "2"], ["(1)", "(1)(a)", "(1)(a)(i)", "(1)(a)(i)(A)",
         "(1)(a)(ii)", "(1)(b)", "(2)"]),
        # (i) after (h) is the letter i, (v) after (iv) the roman five
        (["h", "i", "j"], ["(h)", "(i)", "(j)"]),
        (["a", "i", "ii", "iii", "iv", "v", "b"], ["(a)", "(a)(i)", "(a)(ii)", "(a)(iii)",
         "(a)(iv)", "(a)(v)", "(b)"]),
    ],
)  # fmt: skip
def test_label_nesting(labels: list[str], pinpoints: list[str]) -> None:
    builder = PinpointTreeBuilder("X")
    for label in labels:
        assert builder.add(label)
    assert [s.pinpoint for top in builder.build() for s in top.walk()] == pinpoints


@pytest.mark.parametrize(
    ("texts", "pinpoints"),
    [
        # "(B) failing to either:" introduces its own list: (i) is roman under it
        ([("h", "A party waives a defense by:"), ("1", "omitting it from a motion; or"),
          ("A", "omitting it;"), ("B", "failing to either:"), ("i", "make it by motion; or"),
          ("ii", "include it in a pleading."), ("2", "Failure to state a claim may be raised:"),
          ("i", "Hearing Before Trial.")],
         ["(h)", "(h)(1)", "(h)(1)(A)", "(h)(1)(B)", "(h)(1)(B)(i)", "(h)(1)(B)(ii)", "(h)(2)",
          "(h)(2)(i)"]),
        # words that end a sentence: (i) continues the letters
        ([("h", "Waiver."), ("1", "A party waives a defense."), ("i", "Hearing Before Trial.")],
         ["(h)", "(h)(1)", "(i)"]),
    ],
)  # fmt: skip
def test_a_label_after_words_that_open_a_list_starts_that_list(
    texts: list[tuple[str, str]], pinpoints: list[str]
) -> None:
    builder = PinpointTreeBuilder("X")
    for label, text in texts:
        assert builder.add(label, text=text)
    assert [s.pinpoint for top in builder.build() for s in top.walk()] == pinpoints


def test_frcp_12_h_1_b_i(corpus_dir: Path) -> None:
    """Fed. R. Civ. P. 12(h)(1)(B)(i)-(ii), not a 12(i) and a 12(ii) before the real 12(i)."""
    doc = load_versions("frcp:12", corpus_dir)[-1]
    pins = {s.pinpoint: s for s in doc.walk()}
    assert pins["(h)(1)(B)(i)"].text == "make it by motion under this rule; or"
    assert "(h)(2)(C)" in pins and "(h)(3)" in pins and "(ii)" not in pins
    assert pins["(i)"].heading.startswith("Hearing Before Trial")


def test_label_kinds() -> None:
    assert label_kinds("i") == {"lower": 9, "lower_roman": 1}
    assert label_kinds("12") == {"digit": 12}
    assert label_kinds("aa") == {"lower": 27}
    assert label_kinds("IV") == {"upper_roman": 4}


def test_rule_numbers_and_history_dates() -> None:
    assert rule_number("rule-12_1") == "12.1"
    assert rule_number("rule-G") == "G"
    assert rule_number("notes") is None
    dates = effective_dates(
        "(As amended Apr. 17, 2000, eff. Dec. 1, 2000; Apr. 24, 2023, eff. July 1, 2023.)"
    )
    assert [d.isoformat() for d in dates] == ["2000-12-01", "2023-07-01"]


def test_discover_skips_criminal_copies_of_supplemental_rules(corpus_dir: Path) -> None:
    units = FederalRulesAdapter().discover(corpus_dir)
    keys = {u.key for u in units}
    assert "civil/rule-G" in keys
    assert "criminal/rule-G" not in keys
    assert "evidence/rule-702" in keys
    assert len(units) == 532  # 33 criminal copies of civil rules left out too


def _copy_rule(corpus_dir: Path, tmp_path: Path, rel: str) -> Path:
    dest = tmp_path / "federal_rules" / rel
    shutil.copytree(corpus_dir / "federal_rules" / rel, dest)
    return dest


def test_broken_yaml_front_matter_names_file_and_line(corpus_dir: Path, tmp_path: Path) -> None:
    bad_dir = _copy_rule(corpus_dir, tmp_path, "evidence/rule-702")
    _copy_rule(corpus_dir, tmp_path, "evidence/rule-703")
    bad = bad_dir / "2024.md"
    text = bad.read_text(encoding="utf-8")
    broken = text.replace('"Testimony by Expert Witnesses"', '"Testimony by" Expert Witnesses"')
    assert broken != text
    bad.write_text(broken, encoding="utf-8")
    report = IngestReport()
    docs = list(iter_documents(tmp_path, ["federal_rules"], report))
    assert len(report.errors) == 1
    err = report.errors[0]
    assert isinstance(err, ParseError)
    assert err.path == str(bad)
    assert err.where.startswith("line 3")
    assert "YAML" in err.message
    assert {d.doc_id for d in docs} == {"fre:703"}  # the good rule is parsed, the bad skipped


def test_unclosed_front_matter(corpus_dir: Path, tmp_path: Path) -> None:
    bad_dir = _copy_rule(corpus_dir, tmp_path, "civil/rule-1")
    bad = bad_dir / "2010.md"
    bad.write_text(bad.read_text(encoding="utf-8").replace("\n---\n", "\n\n", 1))
    adapter = FederalRulesAdapter()
    (unit,) = adapter.discover(tmp_path)
    with pytest.raises(ParseError, match="not closed") as info:
        list(adapter.parse(unit))
    assert info.value.path == str(bad)


@pytest.mark.slow
def test_whole_source_counts(corpus_dir: Path) -> None:
    report = IngestReport()
    per_collection: dict[str, set[str]] = {}
    versions = 0
    for doc in iter_documents(corpus_dir, ["federal_rules"], report):
        versions += 1
        per_collection.setdefault(doc.doc_id.split(":")[0], set()).add(doc.doc_id)
        pins = [s.pinpoint for s in doc.walk()]
        assert len(pins) == len(set(pins)), doc.version_key
    assert report.ok, report.summary()
    assert {k: len(v) for k, v in per_collection.items()} == {
        "frcp": 104,
        "frcrmp": 77,
        "fre": 69,
        "frap": 53,
        "frbp": 229,
    }
    assert versions == 1271


def test_a_criminal_directory_copying_a_civil_rule_is_left_out(
    corpus_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _copy_rule(corpus_dir, tmp_path, "civil/rule-65")
    _copy_rule(corpus_dir, tmp_path, "criminal/rule-65")  # only current.md: the civil text
    _copy_rule(corpus_dir, tmp_path, "civil/rule-5")
    _copy_rule(corpus_dir, tmp_path, "criminal/rule-5")  # yearly files: its own history
    own = _copy_rule(corpus_dir, tmp_path, "criminal/rule-66") / "current.md"
    own.write_text(own.read_text(encoding="utf-8").replace("receiver", "custodian"), "utf-8")
    _copy_rule(corpus_dir, tmp_path, "civil/rule-66")
    adapter = FederalRulesAdapter()
    with caplog.at_level("WARNING"):
        keys = {u.key for u in adapter.discover(tmp_path)}
    assert keys == {"civil/rule-65", "civil/rule-5", "criminal/rule-5", "civil/rule-66",
                    "criminal/rule-66"}  # fmt: skip
    assert "criminal/rule-65" in caplog.text and "1 rule directories" in caplog.text
    assert adapter.units_for(tmp_path, "frcrmp:65") == []
    assert adapter.units_for(tmp_path, "frcrmp:5") and adapter.units_for(tmp_path, "frcp:65")
