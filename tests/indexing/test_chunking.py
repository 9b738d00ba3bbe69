"""Chunking on real provisions: pinpoints, deterministic ids, sentence splits."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexing.chunking import (
    HEADING_CHARS,
    Chunker,
    embed_text,
    heading_context,
    labelled,
    model_token_counter,
)
from indexing.settings import default_embed_model
from indexing.text import split_sentences, without_line_labels
from legal_corpus.adapters import make_adapter
from legal_corpus.model import Kind, LegalDocument, Section, Version

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker(model_token_counter(default_embed_model()), max_tokens=200)


def _docs(corpus_dir: Path, source: str, key: str) -> list[LegalDocument]:
    adapter = make_adapter(source)
    unit = next(u for u in adapter.discover(corpus_dir) if u.key == key)
    return list(adapter.parse(unit))


def test_rule_chunks_carry_pinpoints_and_stay_inside_one_provision(corpus_dir, chunker):
    rule12 = _docs(corpus_dir, "federal_rules", "civil/rule-12")[-1]
    chunks = chunker.chunk(rule12)
    assert len(chunks) > 3
    for c in chunks:
        assert c.doc_id == "frcp:12" and c.version == rule12.version.label
        assert c.citation.startswith("Fed. R. Civ. P. 12")
        assert c.valid_from == rule12.version.valid_from
        covered = [p for p in (c.pinpoints or (c.pinpoint,)) if p]
        if covered:
            # a merge is whole sibling provisions or the start of one, never the tail of
            # (a) with the start of (b): every pinpoint lies under a shallowest one, and the
            # chunk starts with a shallowest one
            depth = min(p.count("(") for p in covered)
            heads = [p for p in covered if p.count("(") == depth]
            assert covered[0] in heads, covered
            assert all(any(p.startswith(h) for h in heads) for p in covered), covered
    holder = [c for c in chunks if "(b)(6)" in c.pinpoints or c.pinpoint == "(b)(6)"]
    assert len(holder) == 1
    assert "failure to state a claim" in holder[0].text
    # every section's text is in exactly one chunk, in order
    texts = [s.text.strip() for s in rule12.walk() if s.text.strip()]
    joined = "\n".join(c.text for c in chunks)
    pos = 0
    for t in texts:
        found = joined.find(t[:60], pos)
        assert found >= 0, t[:60]
        pos = found


def test_chunk_ids_are_deterministic_and_unique(corpus_dir, chunker):
    versions = _docs(corpus_dir, "federal_rules", "evidence/rule-702")
    first = [c.chunk_id for d in versions for c in chunker.chunk(d)]
    again = [c.chunk_id for d in versions for c in chunker.chunk(d)]
    assert first == again
    assert len(set(first)) == len(first)


def test_long_paragraph_split_at_sentence_boundaries(corpus_dir):
    chunker = Chunker(model_token_counter(default_embed_model()), max_tokens=60, min_tokens=10)
    doc = _docs(corpus_dir, "aila/casedocs", "C1")[0]
    chunks = chunker.chunk(doc)
    by_pin: dict[str, list[str]] = {}
    for c in chunks:
        by_pin.setdefault(c.pinpoint, []).append(c.text)
    split = {p: parts for p, parts in by_pin.items() if len(parts) > 1}
    assert split, "a long paragraph of C1 must be split"
    count = model_token_counter(default_embed_model())
    for pin, parts in split.items():
        section = doc.section(pin)
        assert section is not None
        assert " ".join(" ".join(parts).split()) == " ".join(section.text.split())
        too_long = [x for x in split_sentences(section.text) if count(x) > 60]
        for part in parts[:-1]:
            tail = " ".join(part.split()[-4:])
            at_sentence_end = part.rstrip()[-1] in '.;:?!)\u201d"'
            # mid-sentence only inside a sentence that alone exceeds the window
            assert at_sentence_end or any(tail in " ".join(x.split()) for x in too_long), tail
        assert all(count(p) <= 60 for p in parts)
    assert len({c.chunk_id for c in chunks}) == len(chunks)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "See 17 U.S.C. § 107. The court agreed.",
            ["See 17 U.S.C. § 107.", "The court agreed."],
        ),
        (
            "Smith v. Jones, 410 U.S. 113 (1973), controls. Fed. R. Civ. P. 12(b)(6) applies.",
            ["Smith v. Jones, 410 U.S. 113 (1973), controls.", "Fed. R. Civ. P. 12(b)(6) applies."],
        ),
        ("No. 96-7169 was argued. It was decided.", ["No. 96-7169 was argued.", "It was decided."]),
    ],
)
def test_split_sentences_respects_legal_abbreviations(text, expected):
    assert split_sentences(text) == expected


COPYRIGHT_507 = (
    "Title 17 — COPYRIGHTS",
    "CHAPTER 5 — COPYRIGHT INFRINGEMENT AND REMEDIES",
    "§ 507. Limitations on actions",
    "Criminal Proceedings",
)


def test_heading_context_names_what_a_provision_is_about():
    assert heading_context(COPYRIGHT_507) == " › ".join(COPYRIGHT_507)
    assert heading_context(("Bhola Ram v State of Punjab",)) == "Bhola Ram v State of Punjab"
    assert heading_context(()) == ""


def test_heading_context_keeps_the_inner_and_outer_headings_within_budget():
    path = (
        "Title 41 — PUBLIC CONTRACTS",
        "Subtitle I — Federal Procurement Policy",
        "Division A — General",
        "CHAPTER 1 — DEFINITIONS",
        "SUBCHAPTER I — SUBTITLE DEFINITIONS",
        "§ 113. Responsible source",
        "Responsible source",  # repeats the section heading: left out
    )
    out = heading_context(path)
    assert len(out) <= HEADING_CHARS
    kept = out.split(" › ")
    assert kept[0] == "Title 41 — PUBLIC CONTRACTS" and kept[-1] == "§ 113. Responsible source"
    assert "Responsible source" not in kept
    assert kept == [h for h in path if h in kept]  # outermost first
    assert heading_context(path, max_chars=30) == "§ 113. Responsible source"


def test_embedded_text_carries_the_heading_path(corpus_dir: Path, chunker: Chunker):
    docs = _docs(corpus_dir, "uscode", "t17")
    doc = next(d for d in docs if d.doc_id == "usc:17/507" and d.version.valid_to is None)
    chunk = chunker.chunk(doc)[0]
    text = embed_text(chunk)
    head, _, body = text.partition("\n")
    # the text as printed, its subdivision labels left out: `(a) Except as …` is read, and
    # `Except as …` embedded
    assert chunk.text.startswith("(a) Except as expressly provided")
    assert head.startswith(chunk.citation) and body == without_line_labels(chunk.text)
    assert body.startswith("Except as expressly provided") and "\n(b)" not in body
    # the words a lawyer asks with are in the headings, not in the section's own text
    assert "COPYRIGHT INFRINGEMENT" in head and "copyright" not in body.lower()
    assert chunker.count(text) <= 256  # the embedding model's window


def test_captions_of_merged_and_nested_subdivisions_are_recorded(corpus_dir, chunker):
    fre803 = _docs(corpus_dir, "federal_rules", "evidence/rule-803")[-1]
    chunks = chunker.chunk(fre803)
    # 803(2) is merged with 803(1): its caption is not the chunk's heading, but it is recorded
    holder = next(c for c in chunks if "(2)" in (c.pinpoints or (c.pinpoint,)))
    assert "Excited Utterance" not in holder.heading_path
    assert "Excited Utterance" in holder.captions
    # what is embedded stays format 2: citation and heading path (captions measured, not kept)
    head = embed_text(holder).partition("\n")[0]
    assert "Excited Utterance" not in head and holder.citation in head
    # a deep subdivision carries the captions of the subdivisions above it, outermost first
    frcp26 = _docs(corpus_dir, "federal_rules", "civil/rule-26")[-1]
    deep = next(c for c in chunker.chunk(frcp26) if "(b)(3)(A)" in (c.pinpoints or (c.pinpoint,)))
    assert deep.captions[:2] == ("Discovery Scope and Limits", "Trial Preparation: Materials")
    # the chunk text is the source's text, verbatim, after the subdivision's label
    section = frcp26.section("(b)(3)(A)")
    assert section is not None and deep.text.startswith(f"(A) {section.text.strip()}")
    assert chunker.count(embed_text(deep)) <= 256


def test_passages_print_subdivision_labels_and_a_lists_closing_words_last(
    corpus_dir: Path, chunker: Chunker
) -> None:
    title17 = _docs(corpus_dir, "uscode", "t17")
    fair_use = next(
        d for d in title17 if d.doc_id == "usc:17/107" and d.version.label == "Online@117-80"
    )
    chunks = chunker.chunk(fair_use)
    text = "\n".join(c.text for c in chunks)
    # the factors read as the statute prints them, and the sentence that closes the list
    # ("The fact that a work is unpublished …") comes after factor (4), not before (1)
    lines = text.splitlines()
    factors = [n for n, line in enumerate(lines) if line[:3] in {"(1)", "(2)", "(3)", "(4)"}]
    assert [lines[n][:4] for n in factors] == ["(1) ", "(2) ", "(3) ", "(4) "]
    assert lines[factors[0]].startswith("(1) the purpose and character of the use")
    closing = next(n for n, line in enumerate(lines) if line.startswith("The fact that a work"))
    assert closing > factors[-1]
    # every passage is cited by the section it holds: its opening with the factors, and its
    # closing words (one section's words, never "§ 107(4)"), with distinct ids
    assert {c.citation for c in chunks} == {"17 U.S.C. § 107"}
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_closing_words_are_cited_by_the_paragraph_they_close(
    corpus_dir: Path, chunker: Chunker
) -> None:
    art6 = next(d for d in _docs(corpus_dir, "gdpr", "gdpr-en") if d.doc_id == "gdpr:art6")
    chunks = chunker.chunk(art6)
    holder = next(c for c in chunks if "Point (f) of the first subparagraph" in c.text)
    assert holder.citation == "GDPR Art. 6(1)"
    opening = next(c for c in chunks if "at least one of the following applies" in c.text)
    assert "Point (f)" not in opening.text and "\n(a) the data subject has given" in opening.text
    assert chunks.index(holder) > chunks.index(opening)
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def _section(pin: str, text: str, *children: Section, closing: str = "") -> Section:
    return Section(pin, f"R. 9{pin}", text=text, children=children, closing=closing)


@pytest.mark.parametrize(
    ("closing_of", "citations"),
    [
        # (b)'s closing words join the passage that holds (b) whole: "(a)–(b)", not "(a)–(b)(2)"
        ("(b)", ["R. 9(a)–(b)"]),
        # the document's closing words never end a range of its subdivisions: alone
        ("", ["R. 9(a)–(b)", "R. 9"]),
    ],
)
def test_closing_words_join_a_passage_only_with_their_whole_section(
    closing_of: str, citations: list[str]
) -> None:
    words = "The court may extend either time for good cause."
    b = _section(
        "(b)",
        "A party may move:",
        _section("(b)(1)", "before trial; or"),
        _section("(b)(2)", "after trial."),
        closing=words if closing_of == "(b)" else "",
    )
    root = Section("", "R. 9", text="", children=(_section("(a)", "Time to answer."), b))
    if closing_of == "":
        root = Section("", "R. 9", children=root.children, closing=words)
    doc = LegalDocument(
        doc_id="x:9", source="x", kind=Kind.RULE, jurisdiction="us", title="Nine",
        citation="R. 9", version=Version(label="1"), sections=(root,), source_path="x.md",
    )  # fmt: skip
    chunks = Chunker(max_tokens=200, min_tokens=48).chunk(doc)
    assert [c.citation for c in chunks] == citations
    assert chunks[-1].text.rstrip().endswith(words)


def test_a_label_under_a_subdivision_without_text_names_both(
    corpus_dir: Path, chunker: Chunker
) -> None:
    # Fed. R. Civ. P. 12(a)(1) is a caption ("In General") without words of its own: the
    # line of 12(a)(1)(A) printed under 12(a) reads "(1)(A)", so the pinpoint can be read off
    frcp12 = _docs(corpus_dir, "federal_rules", "civil/rule-12")[-1]
    first = chunker.chunk(frcp12)[0]
    assert first.pinpoint.startswith("(a)")
    assert "\n(1)(A) A defendant must serve an answer:" in first.text
    assert "\n(i) within 21 days after being served" in first.text


@pytest.mark.parametrize(
    ("printed", "read"),
    [
        ("(1) the purpose and character of the use", "the purpose and character of the use"),
        ("(a) Unless …\n(1)(A) A defendant must", "Unless …\nA defendant must"),
        ("points (c) and (e) of paragraph 1", "points (c) and (e) of paragraph 1"),
        ("(f) of the first subparagraph", "of the first subparagraph"),
        ("(as amended) text", "(as amended) text"),
    ],
)
def test_line_labels_are_left_out_of_what_is_read(printed: str, read: str) -> None:
    assert without_line_labels(printed) == read


def test_a_repeated_pinpoints_label_is_printed_without_its_suffix() -> None:
    # a source that repeats a label gets `(1)[2]` as a unique pinpoint; it prints `(1)`
    repeat = Section("(a)(1)[2]", "42 U.S.C. § 1(a)(1)[2]", text="the words")
    assert labelled(repeat) == "(1) the words"
    assert labelled(repeat, within="(a)") == "(1) the words"
    assert labelled(repeat, within=None) == "the words"
    assert labelled(Section("¶ 12", "…, ¶ 12", text="the court held"), within="") == (
        "the court held"
    )
