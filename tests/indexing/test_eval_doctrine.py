"""The doctrine questions: the file's integrity and frozen split, `eval-doctrine` and
`calibrate-relevance` end to end on the index slice."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from indexing.cli import main
from indexing.eval.doctrine import (
    FRESH,
    PLACES,
    QUESTIONS,
    Judgment,
    Question,
    QuestionFileError,
    holds_pinpoint,
    provision_folds,
    read_questions,
    score_question,
    summarize,
)
from indexing.eval.metrics import read_queries
from indexing.eval.questions import QUESTIONS as LAWYERS
from indexing.model import Chunk, Passage
from tests.support.index_slice import index_slice  # noqa: F401  (session fixture)

pytestmark = pytest.mark.unit


def test_the_question_file_and_its_frozen_split():
    questions = read_questions(QUESTIONS)
    by = Counter((q.split, q.answerable) for q in questions)
    # the split was fixed when the file was written: a changed count means a changed test set
    assert by == {("dev", True): 236, ("test", True): 113, ("dev", False): 43, ("test", False): 21}
    assert sum(q.answerable for q in questions) >= 150
    assert {q.style for q in questions} == {"doctrine", "plain", "unanswerable"}
    lawyers = {t.strip().lower() for t in read_queries(LAWYERS).values()}
    for q in questions:
        assert q.question.lower() not in lawyers, q.id  # written apart from that benchmark
        if q.answerable:
            assert all(j.grade in (1, 2) for j in q.judgments), q.id
        else:
            assert q.governing_law and not q.judgments, q.id


def test_the_second_frozen_set_is_all_test_and_asks_nothing_the_first_asks():
    fresh = read_questions(FRESH)
    assert Counter((q.split, q.style) for q in fresh) == {
        ("test", "doctrine"): 113,
        ("test", "unanswerable"): 24,
    }
    assert all(j.grade == 2 for q in fresh for j in q.judgments)
    assert all(q.governing_law and not q.judgments for q in fresh if not q.answerable)
    asked = {q.question.lower() for q in read_questions(QUESTIONS)}
    asked |= {t.strip().lower() for t in read_queries(LAWYERS).values()}
    assert not [q.id for q in fresh if q.question.lower() in asked]
    assert len({q.id for q in fresh}) == len(fresh)


def test_the_places_set_names_another_country_in_every_question_and_asks_nothing_new_twice():
    places = read_questions(PLACES)
    assert Counter((q.split, q.style) for q in places) == {
        ("test", "doctrine"): 28,
        ("test", "unanswerable"): 26,
    }
    assert all(q.governing_law and not q.judgments for q in places if not q.answerable)
    asked = {q.question.lower() for q in [*read_questions(QUESTIONS), *read_questions(FRESH)]}
    asked |= {t.strip().lower() for t in read_queries(LAWYERS).values()}
    assert not [q.id for q in places if q.question.lower() in asked]
    assert len({q.id for q in places}) == len(places)


@pytest.mark.slow
def test_every_judged_provision_and_pinpoint_is_in_the_corpus(corpus_dir: Path):
    from legal_corpus.adapters import iter_documents

    questions = [*read_questions(QUESTIONS), *read_questions(FRESH), *read_questions(PLACES)]
    judged = {(j.doc_id, p) for q in questions for j in q.judgments for p in j.pinpoints}
    docs = {j.doc_id for q in questions for j in q.judgments}
    today = date.today()
    found: dict[str, set[str]] = {}
    for doc in iter_documents(corpus_dir, ["uscode", "federal_rules", "gdpr"]):
        if doc.doc_id in docs and doc.version.in_force(today):
            found[doc.doc_id] = {s.pinpoint for s in doc.walk()}
    assert docs <= set(found), sorted(docs - set(found))
    missing = sorted((d, p) for d, p in judged if p not in found[d])
    assert not missing, missing


def _chunk(pinpoint: str, pinpoints: tuple[str, ...] = ()) -> Chunk:
    return Chunk(
        "id", "fre:803", "2018", "c", "c", pinpoint, "a", (), "t", 0, "s", "rule", "us", ""
    )


def test_a_passage_is_at_a_subdivision_when_it_is_it_holds_it_or_lies_inside_it():
    assert holds_pinpoint(_chunk("(2)"), ["(2)"])
    assert holds_pinpoint(_chunk("(b)(3)(A)"), ["(b)(3)"])  # inside the subdivision
    merged = Chunk("id", "fre:803", "2018", "c", "c", "(1)–(2)", "a", (), "t", 0, "s", "rule",
                   "us", "", pinpoints=("(1)", "(2)"))  # fmt: skip
    assert holds_pinpoint(merged, ["(2)"])
    assert not holds_pinpoint(_chunk("(1)"), ["(10)"]) and not holds_pinpoint(
        _chunk("(c)"), ["(a)"]
    )
    assert holds_pinpoint(_chunk("(c)"), [])  # no pinpoint judged: the provision as a whole


class _Listed:
    """A retriever that returns the given chunks, best first."""

    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks

    def search_assessed(self, question: str, top_k: int, mode: str) -> tuple[list, None]:
        return [Passage(c, 1.0 - n / 100) for n, c in enumerate(self.chunks[:top_k])], None


def _at(doc_id: str, pinpoint: str) -> Chunk:
    return Chunk(
        f"{doc_id}{pinpoint}", doc_id, "2024", "c", "c", pinpoint, "a", (), "t", 0, "s", "rule",
        "us", "",
    )  # fmt: skip


def test_pinpoint_at_six_counts_the_governing_subdivision_among_the_answer_passages():
    q = Question("Q", "dev", "plain", "How long to appeal?", (Judgment("frap:4", ("(a)(1)",), 2),))
    others = [_at(f"frcp:{n}", "(a)") for n in range(1, 5)]
    wrong_first = [_at("frap:4", "(c)(2)"), *others]
    sixth = score_question(_Listed([*wrong_first, _at("frap:4", "(a)(1)(A)")]), q)[0]  # type: ignore[arg-type]
    seventh = score_question(
        _Listed([*wrong_first, _at("frcp:9", "(a)"), _at("frap:4", "(a)(1)(A)")]),
        q,  # type: ignore[arg-type]
    )[0]
    assert sixth.doc1 and not sixth.pinpoint1 and sixth.pinpoint_context
    assert seventh.context and not seventh.pinpoint_context  # not among the six
    shares = summarize([sixth, seventh])
    assert shares["pinpoint@1"] == 0.0 and shares["pinpoint@6"] == 0.5


def test_bad_question_files_name_the_line(tmp_path: Path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": "X1", "split": "dev", "style": "doctrine", "question": "q?"}\n')
    with pytest.raises(QuestionFileError, match=r"q.jsonl, line 1"):
        read_questions(bad)


def _asking(qid: str, *governing: str) -> Question:
    return Question(qid, "dev", "doctrine", f"{qid}?", tuple(Judgment(d, (), 2) for d in governing))


def test_questions_about_one_provision_share_a_fold():
    # Q1 and Q3 share Rule 803, Q3 and Q6 share Rule 802: one group of three, dealt together
    questions = [
        _asking("Q1", "fre:803"),
        _asking("Q2", "fre:408"),
        _asking("Q3", "fre:803", "fre:802"),
        _asking("Q4", "usc:17/107"),
        _asking("Q5", "gdpr:art17"),
        _asking("Q6", "fre:802"),
        _asking("Q7", "frcp:12"),
    ]
    folds = provision_folds(questions, 3)
    assert folds[0] == folds[2] == folds[5]
    assert Counter(folds) == {folds[0]: 3, **{f: 2 for f in {0, 1, 2} - {folds[0]}}}
    assert folds == provision_folds(questions, 3)  # the same file, the same folds
    shuffled = provision_folds(questions, 3, seed=4)
    assert shuffled[0] == shuffled[2] == shuffled[5] and shuffled == provision_folds(
        questions, 3, seed=4
    )
    # an unanswerable question governs nothing and is a group of its own
    alone = Question("N1", "dev", "unanswerable", "N1?", (), "BGB § 622")
    assert len(set(provision_folds([*questions, alone], 8))) == 6
    with pytest.raises(ValueError):
        provision_folds(questions, 0)


def test_the_dev_split_keeps_every_provision_in_one_fold():
    dev = [q for q in read_questions(QUESTIONS, "dev") if q.answerable]
    folds = provision_folds(dev, 5)
    where: dict[str, set[int]] = {}
    for q, fold in zip(dev, folds, strict=True):
        for doc_id in q.governing():
            where.setdefault(doc_id, set()).add(fold)
    assert all(len(f) == 1 for f in where.values())
    sizes = Counter(folds).values()
    assert len(sizes) == 5 and max(sizes) - min(sizes) <= 7  # no group holds more than 7


SLICE_QUESTIONS = [
    ("S1", "doctrine", "Is parody a fair use of a copyrighted work?", [("usc:17/107", [], 2)]),
    ("S2", "plain", "Can a company ignore my request to delete my data?",
     [("gdpr:art17", ["(1)"], 2)]),
    ("S3", "doctrine", "What must a plaintiff plead to survive a Rule 12(b)(6) motion?",
     [("frcp:12", ["(b)"], 2)]),
    ("S4", "doctrine", "What are the Daubert reliability requirements for expert testimony?",
     [("fre:702", [], 2)]),
]  # fmt: skip
SLICE_UNANSWERABLE = [
    ("N1", "What is trademark dilution by blurring?", "15 U.S.C. § 1125(c)"),
    ("N2", "How long is the notice period for dismissing an employee in Germany?", "BGB § 622"),
]


def _write(path: Path) -> Path:
    rows = [
        {"id": i, "split": "dev", "style": s, "question": q,
         "judgments": [{"doc_id": d, "pinpoints": p, "grade": g} for d, p, g in js]}
        for i, s, q, js in SLICE_QUESTIONS
    ] + [
        {"id": i, "split": "dev", "style": "unanswerable", "question": q, "governing_law": law}
        for i, q, law in SLICE_UNANSWERABLE
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_eval_doctrine_and_calibration_on_the_slice(index_slice, monkeypatch, capsys, tmp_path):  # noqa: F811
    questions = _write(tmp_path / "q.jsonl")
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(index_slice.qdrant_path))
    monkeypatch.setenv("JURIS_EMBED_CACHE", str(index_slice.embed_cache))
    per_question = tmp_path / "rows.jsonl"
    args = ["eval-doctrine", "--questions", str(questions), "--split", "dev", "--json"]
    assert main([*args, "--per-question", str(per_question)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["questions"] == 4 and results["unanswerable"] == 2
    for key in ("top5", "context@6", "doc@1", "pinpoint@1", "pinpoint@6", "map", "ndcg@10"):
        assert 0.0 <= results[key] <= 1.0, key
    assert results["pinpoint@6"] >= results["pinpoint@1"]  # the first passage is among the six
    assert results["top5"] >= 0.75  # the slice holds these provisions among few others
    rows = [json.loads(line) for line in per_question.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["S1", "S2", "S3", "S4", "N1", "N2"]
    assert all(r["cosine"] > 0 for r in rows)
    # calibration on these questions, then abstention figures through the calibrated signal
    calibration = tmp_path / "relevance.json"
    assert main(["calibrate-relevance", "--questions", str(questions), "--out", str(calibration),
                 "--max-false-abstain", "0"]) == 0  # fmt: skip
    assert json.loads(calibration.read_text())["fitted_on"]["unanswerable"] == 2
    monkeypatch.setenv("JURIS_RELEVANCE_FILE", str(calibration))
    capsys.readouterr()
    assert main([*args, "--no-documents"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["false_abstain"] == 0.0  # the threshold declines no answerable question
    assert {"abstain_precision", "abstain_recall"} <= set(results)
    assert 0.0 <= results["weak_answerable"] <= 1.0 and 0.0 <= results["weak_unanswerable"] <= 1.0


def test_calibrate_order_on_the_slice_writes_weights_the_retriever_uses(
    index_slice,  # noqa: F811
    monkeypatch,
    capsys,
    tmp_path,
):
    from indexing.learned_order import FEATURES, OrderModel
    from indexing.retrieve import open_retriever
    from indexing.settings import IndexSettings

    questions = _write(tmp_path / "q.jsonl")
    monkeypatch.setenv("JURIS_QDRANT_PATH", str(index_slice.qdrant_path))
    monkeypatch.setenv("JURIS_EMBED_CACHE", str(index_slice.embed_cache))
    out = tmp_path / "order.json"
    assert main(["calibrate-order", "--questions", str(questions), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "learned, 5-fold" in printed and str(out) in printed
    assert "pinpoint@1: learned, lead, 5-fold" in printed  # the lead is measured out of fold
    assert "the lead's gain, 5-fold, least of 10 deals" in printed  # averaged over deals
    assert main(["calibrate-order", "--questions", str(questions), "--deals", "0"]) == 2
    assert "--deals must be at least 1" in capsys.readouterr().err
    model = OrderModel.load(out)
    assert len(model.weights) == len(FEATURES)
    assert model.fitted_on["answerable"] == 4 and model.fitted_on["split"] == "dev"
    # JURIS_ORDER_FILE selects it; JURIS_LEARNED_ORDER=0 turns any order off
    monkeypatch.setenv("JURIS_ORDER_FILE", str(out))
    retriever = open_retriever(IndexSettings())
    assert retriever.order == model
    retriever.close()
    monkeypatch.setenv("JURIS_LEARNED_ORDER", "0")
    retriever = open_retriever(IndexSettings())
    assert retriever.order is None
    retriever.close()
