"""The order a build indexes in: enacted law before court opinions, today's versions before
past ones, and the units a hint names first within their tier — on the real corpus."""

from __future__ import annotations

import pytest

from indexing.priority import current_first, hint_words, hinted_units, order_units, tier_of_source
from legal_corpus.adapters import IngestReport, discover_units, parse_units

SAMPLE = "When is the use of a copyrighted work a fair use rather than an infringement?"


@pytest.mark.unit
def test_enacted_law_before_opinions(corpus_dir):
    units = discover_units(corpus_dir, ["aila", "opinions", "gdpr", "federal_rules", "uscode"])
    ordered = order_units(units)
    assert sorted(map(id, ordered)) == sorted(map(id, units))  # same units, reordered
    tiers = [tier_of_source(u.source) for u in ordered]
    assert tiers == sorted(tiers)
    first_opinion = next(i for i, u in enumerate(ordered) if tier_of_source(u.source) == 1)
    assert {u.source for u in ordered[:first_opinion]} == {
        "uscode", "federal_rules", "gdpr", "aila/statutes"
    }  # fmt: skip
    assert ordered[-1].source == "aila/casedocs"  # the long judgments come last
    # the sources' own order is kept where nothing else decides
    assert [u.key for u in ordered if u.source == "uscode"][:3] == ["t1", "t3", "t4"]


@pytest.mark.unit
def test_hint_moves_the_matching_title_first_within_its_tier(corpus_dir):
    units = discover_units(corpus_dir, ["uscode", "gdpr", "aila/casedocs"])
    ordered = order_units(units, hint=SAMPLE)
    assert (ordered[0].source, ordered[0].key) == ("uscode", "t17")  # Title 17 — COPYRIGHTS
    assert tier_of_source(ordered[-1].source) == 1  # a hint never lifts a judgment over law
    hinted = hinted_units(units, SAMPLE)
    assert ("uscode", "t17") in {(u.source, u.key) for u in hinted}
    assert "copyrig" in hint_words(SAMPLE) and "rather" not in " ".join(hint_words(SAMPLE))


@pytest.mark.unit
def test_current_versions_before_past_ones_within_a_tier(corpus_dir):
    units = order_units(
        discover_units(corpus_dir, ["uscode"])[:3]
        + discover_units(corpus_dir, ["aila/casedocs"])[:2]
    )
    docs = list(current_first(parse_units(units, IngestReport())))
    law = [d for d in docs if d.source == "uscode"]
    past = [i for i, d in enumerate(law) if d.version.valid_to is not None]
    current = [i for i, d in enumerate(law) if d.version.valid_to is None]
    assert past and current and max(current) < min(past)
    # the tier's past versions are all out before the first opinion
    first_opinion = next(i for i, d in enumerate(docs) if d.source == "aila/casedocs")
    assert all(d.source == "uscode" for d in docs[:first_opinion])
    assert len(docs) == len({d.version_key for d in docs})  # each version once
