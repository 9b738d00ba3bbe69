"""The learned order of a question's passages: its features, its fit, its file, its model."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import pytest

from indexing.learned_order import (
    FEATURES,
    FORMAT,
    LEAD_FEATURES,
    ORDER_FILE,
    Candidate,
    OrderModel,
    cited_by,
    document_pairs,
    features,
    fit_order,
    held_shares,
    lead_first,
    lead_pairs,
    load_order,
    title_words,
)
from indexing.relevance import CalibrationMismatch, packaged_path

pytestmark = pytest.mark.unit

IDENTITY = "juris-embedder@0123456789ab/torch"
QUESTION = "Must a copyright be registered before an infringement suit is filed?"


def _candidates() -> list[Candidate]:
    # the fused order puts § 412 first; § 411's title holds the question's words
    return [
        Candidate("p412", 0.90, 0.61, 14.0, "Registration as prerequisite to certain remedies",
                  "usc:17/412", 1.5),
        Candidate("p411", 0.85, 0.60, 13.0,
                  "Registration and civil infringement actions", "usc:17/411", 1.5),
        Candidate("p411b", 0.40, None, 9.0, "Registration and civil infringement actions",
                  "usc:17/411", 1.5),
        Candidate("r47", 0.30, 0.52, None, "Recital 47", "gdpr:recital47", -0.5),
        Candidate("p101", 0.20, 0.50, 8.0, "Definitions", "usc:17/101", 1.5,
                  ("registration", "infringement suit", "copyright owner")),
    ]  # fmt: skip


def test_cited_by_weighs_the_best_passages_citing_a_document(monkeypatch):
    # GDPR Art. 17(1)(b) and 14(2)(d) both cite Art. 6(1); Art. 6's own passage cites
    # itself and Art. 9, which counts for Art. 9 only
    cands = [
        Candidate("a17", 0.9, 0.6, 20.0, "Right to erasure", "gdpr:art17", cites=("gdpr:art6",)),
        Candidate("a14", 0.5, 0.5, 18.0, "Information", "gdpr:art14", cites=("gdpr:art6",)),
        Candidate("a6", 0.4, 0.5, 15.0, "Lawfulness of processing", "gdpr:art6",
                  cites=("gdpr:art6", "gdpr:art9")),
        Candidate("a9", 0.2, 0.4, 10.0, "Special categories", "gdpr:art9"),
    ]  # fmt: skip
    weights = cited_by(cands)
    assert weights == pytest.approx({"gdpr:art6": math.log1p(1.4), "gdpr:art9": math.log1p(0.4)})
    col = FEATURES.index("cited_by")
    assert [r[col] for r in features("grounds for processing", cands, 3)] == [
        0.0, 0.0, weights["gdpr:art6"], weights["gdpr:art9"]
    ]  # fmt: skip
    # only the best CITING_DEPTH passages (by fused score) are read
    monkeypatch.setattr("indexing.learned_order.CITING_DEPTH", 1)
    assert cited_by(cands) == pytest.approx({"gdpr:art6": math.log1p(0.9)})


def test_title_words_keep_content_words_cut_to_a_stem():
    assert title_words("Registration of the copyright") == {"regist", "copyri"}
    assert title_words("registered") == title_words("Registration")
    assert title_words("What is it, and how?") == frozenset()


def test_features_read_rank_raw_scores_titles_recitals_bodies_of_law_and_definitions():
    rows = features(QUESTION, _candidates(), terms=5)
    assert all(len(r) == len(FEATURES) for r in rows)
    f = [dict(zip(FEATURES, r, strict=True)) for r in rows]
    assert [x["reciprocal_rank"] for x in f] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
    assert f[2]["cosine"] == 0.50  # not in the dense ranking: its lowest cosine
    assert f[3]["sparse_share"] == 8.0 / 14.0  # nor in the sparse one: its lowest score
    assert f[0]["sparse_share"] == 1.0 and f[0]["sparse_per_term"] == 14.0 / 5
    # § 411's title shares "regist" and "infrin" with the question; § 412's only "regist"
    assert f[1]["question_share"] > f[0]["question_share"] > 0
    assert f[1]["title_share"] == 2 / 4
    assert [x["recital"] for x in f] == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert [x["body"] for x in f] == [1.5, 1.5, 1.5, -0.5, 1.5]
    # § 101 defines "infringement suit" (2 of the question's 6 words: copyri, regist,
    # before, infrin, suit, filed) and "registration" (1); "copyright owner" is not asked
    assert f[4]["defines"] == 2 / 6
    assert [x["defines"] for x in f[:4]] == [0.0] * 4


def test_document_pairs_compare_each_documents_best_passage():
    cands = _candidates()
    rows = features(QUESTION, cands, 5)
    pairs = document_pairs(rows, cands, {"usc:17/411": 2, "usc:17/412": 1})
    # four documents graded 2, 1, 0 and 0: five ordered pairs; § 411 by its better passage
    assert len(pairs) == 5
    assert [a - b for a, b in zip(rows[1], rows[0], strict=True)] in pairs
    assert [a - b for a, b in zip(rows[2], rows[0], strict=True)] not in pairs
    assert document_pairs(rows, cands, {}) == []
    assert len(document_pairs(rows, cands, {"usc:17/411": 2}, documents=1)) == 0


def test_a_fit_learns_which_features_point_to_the_governing_provision():
    # over many questions the governing provision's title shares the question's words, it is
    # never a recital, its body of law speaks the question's language and the other
    # candidates cite it more often, while its fused score is no better than its siblings'
    pairs = []
    for n in range(40):
        better = [0.5, 0.5, 0.6, 0.5, 2.0, 0.4 + n % 3 * 0.1, 0.5, 0.0, 1.0 + n % 2, 0.3 * (n % 2),
                  0.2 * (n % 3)]  # fmt: skip
        worse = [0.6, 1.0, 0.6, 0.6, 2.2, 0.0, 0.0, float(n % 2), 0.5, 0.0, 0.0]
        pairs.append([a - b for a, b in zip(better, worse, strict=True)])
    weights = dict(zip(FEATURES, fit_order(pairs), strict=True))
    assert weights["title_share"] > 0 and weights["question_share"] > 0
    assert weights["recital"] < 0 and weights["body"] > 0 and weights["defines"] > 0
    assert weights["cited_by"] > 0
    with pytest.raises(ValueError, match="no pair"):
        fit_order([])


def test_scores_reorder_and_stay_on_the_fusions_scale():
    weights = tuple(1.0 if f == "question_share" else 0.0 for f in FEATURES)
    scores = OrderModel(IDENTITY, weights).scores(QUESTION, _candidates(), 5)
    assert max(scores, key=lambda k: scores[k]) in {"p411", "p411b"}
    # min-max over the candidates: § 411 1, § 412 (half its shared words) 0.5, the recital 0
    assert scores == {"p411": 1.0, "p411b": 1.0, "p412": 0.5, "r47": 0.0, "p101": 0.0}
    with pytest.raises(ValueError, match=f"need {len(FEATURES)} weights"):
        OrderModel(IDENTITY, (1.0,))


APPEAL = "How long do I have to file a notice of appeal in a civil case?"


def _appeal() -> list[Candidate]:
    # "How long do I have to file a notice of appeal in a civil case?": Fed. R. App. P.
    # 4(c)(2), an inmate's notice "in a civil case", matches best; 4(a)(1)(A), the 30-day
    # rule, opens the rule; Rule 3 is another document
    return [
        Candidate("c2", 0.74, 0.70, 12.0, "Appeal as of Right—When Taken", "frap:4",
                  pinpoints=("(c)(2)",)),
        Candidate("b1", 0.68, 0.68, 11.0, "Appeal as of Right—When Taken", "frap:4",
                  pinpoints=("(b)(1)(A)", "(b)(1)(B)")),
        Candidate("a1", 0.71, 0.66, 11.5, "Appeal as of Right—When Taken", "frap:4",
                  pinpoints=("(a)(1)(A)", "(a)(1)(B)"), first=True),
        Candidate("r3", 0.70, 0.69, 11.8, "Appeal as of Right—How Taken", "frap:3",
                  pinpoints=("(a)(1)",), first=True),
    ]  # fmt: skip


def test_the_lead_puts_the_first_documents_opening_rule_first_and_moves_nothing_else():
    cands = _appeal()
    raw = {"c2": 16.5, "b1": 15.9, "a1": 15.8, "r3": 16.0}
    led = lead_first(raw, cands, (0.44, 0.93, 0.0), APPEAL)
    # the rule's own scores, exchanged: 4(a)(1)(A) takes 4(c)(2)'s, the rest keep their order
    assert led == {"a1": 16.5, "c2": 15.9, "b1": 15.8, "r3": 16.0}
    assert sorted(led.values()) == sorted(raw.values())
    # a small score gap only: a passage far behind stays behind
    assert lead_first({**raw, "a1": 10.0}, cands, (0.44, 0.93, 0.0), APPEAL)["c2"] == 16.5
    # no lead weight on `first`: the order as scored; a document of one passage: unchanged
    assert lead_first(raw, cands, (1.0, 0.0, 0.0), APPEAL) == raw
    assert lead_first({"r3": 17.0, **{k: v for k, v in raw.items() if k != "r3"}}, cands,
                      (0.44, 0.93, 0.0), APPEAL)["r3"] == 17.0  # fmt: skip
    # through the model: scores on the fusion's scale, 4(a)(1)(A) first, Rule 3 not moved
    weights = tuple(1.0 if f == "fused" else 0.0 for f in FEATURES)
    plain = OrderModel(IDENTITY, weights).scores("notice of appeal", cands, 3)
    led_scores = OrderModel(IDENTITY, weights, lead=(1.0, 0.05, 0.0)).scores(
        "notice of appeal", cands, 3
    )
    assert max(plain, key=lambda k: plain[k]) == "c2"
    assert max(led_scores, key=lambda k: led_scores[k]) == "a1"
    assert led_scores["r3"] == plain["r3"] and led_scores["a1"] == plain["c2"] == 1.0
    with pytest.raises(ValueError, match=f"need {len(LEAD_FEATURES)} lead weights"):
        OrderModel(IDENTITY, weights, lead=(1.0,))


def test_lead_pairs_compare_the_governing_subdivision_with_its_siblings():
    cands = _appeal()
    raw = {"c2": 16.5, "b1": 15.9, "a1": 15.8, "r3": 16.0}
    pairs = lead_pairs(raw, cands, ["a1"], APPEAL)
    # the first document (Rule 4): 4(a)(1)(A) against 4(c)(2) and 4(b)(1); Rule 3 not read;
    # no heading or text read, so no share of the question's words tells them apart
    assert pairs == [[15.8 - 16.5, 1.0, 0.0], [15.8 - 15.9, 1.0, 0.0]]
    assert lead_pairs(raw, cands, ["r3"], APPEAL) == []  # the first document does not govern
    assert lead_pairs(raw, cands, ["a1", "b1", "c2"], APPEAL) == []  # no sibling to learn against
    # many such questions: the opening subdivision is preferred at a small score cost
    weights = fit_order(pairs * 20 + [[0.5, 0.0, 0.0]] * 20)
    assert weights[0] > 0 and weights[1] > 0


DAMAGES = "Can a copyright owner ask for statutory damages instead of actual damages?"
_504_HEADING = "§ 504. Remedies for infringement: Damages and profits"


def _damages() -> list[Candidate]:
    # 17 U.S.C. § 504's passages as the index holds them (texts cut short); (a) opens it
    def passage(id_: str, pinpoint: str, heading: str, text: str, first: bool = False):
        return Candidate(id_, 0.7, 0.6, 10.0, "Remedies for infringement: Damages and profits",
                         "usc:17/504", pinpoints=(pinpoint,), first=first,
                         heading=heading, text=text)  # fmt: skip

    return [
        passage("a", "(a)", "In General",
                "Except as otherwise provided by this title, an infringer of copyright is "
                "liable for either—\n(1) the copyright owner’s actual damages and any "
                "additional profits of the infringer, as provided by subsection (b); or\n"
                "(2) statutory damages, as provided by subsection (c).", first=True),
        passage("b", "(b)", "Actual Damages and Profits",
                "The copyright owner is entitled to recover the actual damages suffered by "
                "him or her as a result of the infringement, and any profits of the infringer"),
        passage("c1", "(c)(1)", _504_HEADING,
                "Except as provided by clause (2) of this subsection, the copyright owner may "
                "elect, at any time before final judgment is rendered, to recover, instead of "
                "actual damages and profits, an award of statutory damages"),
    ]  # fmt: skip


def test_held_shares_count_the_question_words_that_set_a_passage_apart():
    own = _damages()
    # asked: copyri, owner, ask, statut, instea, actual, damage; held by some passage: all
    # but "ask" (6); (a) lacks "instead", (b) "instead" and "statutory"
    assert held_shares(DAMAGES, own) == [5 / 6, 4 / 6, 1.0]
    # the line labels "(1)" and "(2)" are not words; the heading is
    assert held_shares("paragraph one", own) == [0.0, 0.0, 0.0]
    assert held_shares("in general", own) == [1.0, 0.0, 0.0]
    # passages read without heading or text are all alike
    bare = [Candidate(c.id, c.fused, c.cosine, c.sparse, c.title, c.doc_id) for c in own]
    assert held_shares(DAMAGES, bare) == [0.0, 0.0, 0.0]


def test_the_lead_prefers_the_passage_that_holds_what_its_siblings_do_not():
    own = _damages()[1:]  # (b) and (c)(1) are the document's candidates; (b) scores higher
    raw = {"b": 16.0, "c1": 15.8}
    shipped_then = (0.441, 0.925, 0.0)  # an order fitted before the third weight
    assert lead_first(raw, own, shipped_then, DAMAGES) == raw
    led = lead_first(raw, own, (0.285, 0.950, 2.495), DAMAGES)
    assert led == {"c1": 16.0, "b": 15.8}
    assert lead_pairs(raw, own, ["c1"], DAMAGES) == [[15.8 - 16.0, 0.0, 1.0 - 4 / 6]]


def test_an_order_fitted_with_two_lead_weights_still_leads_as_it_did(tmp_path: Path):
    weights = [float(n) for n in range(len(FEATURES))]
    old = tmp_path / "two.json"
    old.write_text(json.dumps({"format": FORMAT, "features": list(FEATURES),
                               "embed_model": IDENTITY, "weights": weights,
                               "lead": [0.44, 0.93]}))  # fmt: skip
    assert OrderModel.load(old).lead == (0.44, 0.93, 0.0)
    bad = tmp_path / "one.json"
    bad.write_text(old.read_text().replace("[0.44, 0.93]", "[0.44]"))
    with pytest.raises(ValueError, match=r"one\.json"):
        OrderModel.load(bad)


def test_file_round_trip_and_the_model_it_belongs_to(tmp_path: Path, caplog):
    model = OrderModel(IDENTITY, tuple(float(n) for n in range(len(FEATURES))), {"split": "dev"})
    model.save(tmp_path / ORDER_FILE)
    assert OrderModel.load(tmp_path / ORDER_FILE) == model
    led = OrderModel(IDENTITY, model.weights, lead=(0.4, 0.9, 2.5))
    led.save(tmp_path / "led.json")
    assert OrderModel.load(tmp_path / "led.json") == led
    assert load_order(tmp_path, IDENTITY) == model  # the model directory's own file
    with pytest.raises(CalibrationMismatch, match="calibrate-order"):
        load_order(tmp_path, "other@fedcba987654/torch")
    assert load_order(tmp_path / "none", IDENTITY) is None  # no file: the fused order
    broken = tmp_path / "broken.json"
    for text in (json.dumps({"format": FORMAT, "features": ["fused"], "weights": [1.0]}), "{"):
        broken.write_text(text)
        with pytest.raises(ValueError, match=r"broken\.json"):
            load_order(tmp_path, IDENTITY, configured=broken)
    # a fit of the previous format (ten features, no cross-references) is not misread: the
    # fused order serves, and the log says to fit it again
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": FORMAT - 1, "features": list(FEATURES[:-1]),
                               "weights": [1.0] * (len(FEATURES) - 1),
                               "embed_model": IDENTITY}))  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="indexing.learned_order"):
        assert load_order(tmp_path, IDENTITY, configured=old) is None
    assert "earlier format" in caplog.text and "calibrate-order" in caplog.text


def test_the_bundled_model_ships_its_learned_order():
    from indexing.model_record import model_identity
    from indexing.settings import IndexSettings

    settings = IndexSettings()
    identity = model_identity(settings.model_dir(), settings.embed_backend)
    path = packaged_path(identity, "order")
    assert path.is_file(), f"{path}: run python -m indexing calibrate-order"
    model = load_order(settings.model_dir(), identity)
    assert model is not None and model.fitted_on["split"] == "dev"
    weights = dict(zip(FEATURES, model.weights, strict=True))
    assert weights["recital"] < 0 and weights["body"] > 0 and weights["defines"] > 0
    assert weights["cited_by"] > 0
    # the lead: the opening subdivision preferred, the learned score still weighed
    assert model.lead is not None and all(w > 0 for w in model.lead)
