"""The order of a question's passages, learned from judged questions.

A question's dense and sparse rankings are fused by their normalised scores
(`indexing.fusion`), and the fused order often puts a sibling of the governing provision
first: the bankruptcy rule before the civil rule it copies, a GDPR recital before the
article it explains, § 412 ("registration as prerequisite to certain remedies") before
§ 411 when asked whether registration must precede a suit. What separates them is in
features the fusion does not weigh: how many of the question's words the provision's own
title carries, whether the passage is a recital (an explanation, not an operative rule), how
typical the question's words are of the provision's whole body of law — the civil rules
rather than the bankruptcy rules that copy them (`indexing.bodies_of_law`) — how strongly the
question's best passages cite the provision (`indexing.cross_references`: GDPR Art. 6 for a
question on the grounds of lawful processing, cited by the articles on erasure, information
and objection that answer around it) and the two rankings' raw scores rather than their
rescaled ones.

A linear model over those features re-scores the fused passages of a one-window question
(`Retriever._question_hits`); its weights are fitted on the dev split of the doctrine
questions by pairwise logistic regression — for each question, every document judged more
relevant against every one judged less, each represented by its best fused passage
(`python -m indexing calibrate-order`, the evaluation lab). A second model of three weights
then chooses which of the first document's passages leads (`lead_first`: its learned score,
whether it opens its provision — the rule before its exceptions and procedure — and the share
of the question's words its text and own heading hold, words its siblings may lack), fitted on
the same questions' judged subdivisions. The dense features are the
embedding model's cosines, so a fit belongs to one model, like the relevance calibration
(`indexing.relevance`), and is refused for another. Measured figures: eval/README.md.

    >>> model = OrderModel.load(path)
    >>> candidates, terms = retriever.question_candidates(question, 50)
    >>> scores = model.scores(question, candidates, terms)   # id -> score in [0, 1]
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from indexing.definitions import asked_terms
from indexing.fusion import normalised_sum
from indexing.relevance import (
    CalibrationMismatch,
    calibration_path,
    fit_logistic,
    read_fit,
    write_fit,
)
from indexing.text import without_line_labels

log = logging.getLogger(__name__)

# the file a trained model directory carries
ORDER_FILE = "juris_order.json"
FEATURES = (
    "fused",  # the normalised-sum score (`indexing.fusion`)
    "reciprocal_rank",  # 1 / the passage's rank in the fused order
    "cosine",  # the passage's dense cosine (the dense ranking's lowest when it is not in it)
    "sparse_share",  # its sparse score / the question's best
    "sparse_per_term",  # its sparse score / the question's own sparse terms
    "title_share",  # share of the provision title's words the question holds
    "question_share",  # share of the question's words the provision title holds
    "recital",  # 1 for a recital (it explains an article, it does not govern)
    "body",  # how typical the question's words are of its body of law (`bodies_of_law`)
    "defines",  # share of the question's words a term the passage defines covers (`definitions`)
    "cited_by",  # how strongly the question's best passages cite its document (below)
)
FORMAT = 4
# what chooses which of the first document's passages leads (`OrderModel.lead`; optional in a
# format-4 file: an order fitted without it leaves the first document's passages as scored)
LEAD_FEATURES = (
    "score",  # the passage's learned score (the linear order's, before rescaling)
    "first",  # 1 when the passage opens its provision (`Candidate.first`)
    "held",  # share of the question's words its text and heading hold (`held_shares`)
)
# the best passages (by fused score) whose citations `cited_by` counts: a question's
# candidates at the depth an answer is chosen from (chosen on the doctrine dev split, 5-fold,
# over 10 / 30 / 50 / 100 / 200; eval/README.md, "Cross-references")
CITING_DEPTH = 100
# words that say nothing about which provision governs
_STOP = frozenset(
    {
        "the", "for", "are", "and", "can", "does", "what", "who", "when", "how", "must",
        "may", "with", "from", "that", "this", "its", "into", "under", "any", "their", "his",
        "her", "has", "have", "not", "which", "whether",
    }
)  # fmt: skip


def content_words(text: str) -> frozenset[str]:
    """The content words of a text, cut to six letters (a crude stem: `registration` and
    `registered` meet at `regist`)."""
    return frozenset(
        w[:6] for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in _STOP
    )


@lru_cache(maxsize=65_536)
def title_words(text: str) -> frozenset[str]:
    """`content_words` of a title or question (short texts, asked again and again)."""
    return content_words(text)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A fused passage of a question and what the order reads of it.

    Args:
        id: the point id.
        fused: its fused score.
        cosine: its dense cosine, None when the dense ranking did not return it.
        sparse: its sparse score, None when the sparse ranking did not return it.
        title: its document's title (`Residual Exception`, `Lawfulness of processing`).
        doc_id: its document (`gdpr:recital47`).
        body: how typical the question's words are of the document's body of law
            (`indexing.bodies_of_law.BodiesOfLaw.typicality`; 0.0: as typical as anywhere).
        defined: the terms the passage defines (`indexing.definitions.defined_terms`).
        cites: the documents the passage cites (`indexing.cross_references`).
        pinpoints: the subdivisions the passage holds (`Chunk.pinpoints`; what a fit of the
            lead passage is judged by).
        first: the passage opens its statute, rule or article (`Chunk.order` 0; never for a
            court opinion, whose first passage is its caption).
        heading: its own heading, the last of its heading path (`Issuing Without Notice`
            for Fed. R. Civ. P. 65(b)(1)); with `text`, what `held_shares` reads.
        text: its text.
    """

    id: str
    fused: float
    cosine: float | None
    sparse: float | None
    title: str
    doc_id: str
    body: float = 0.0
    defined: tuple[str, ...] = ()
    cites: tuple[str, ...] = ()
    pinpoints: tuple[str, ...] = ()
    first: bool = False
    heading: str = ""
    text: str = ""


def cited_by(ranked: Sequence[Candidate]) -> dict[str, float]:
    """doc_id -> log(1 + the summed fused scores of the first `CITING_DEPTH` of `ranked`
    (candidates in fused order, as `features` ranks them) of other documents that cite it):
    the question's best passages resting on a provision (GDPR Art. 17(1)(b), 14(2)(d) and
    21(1), all citing Art. 6(1), for a question on the grounds of lawful processing).
    Absent: cited by none of them."""
    weight: dict[str, float] = {}
    for c in ranked[:CITING_DEPTH]:
        for doc in c.cites:
            if doc != c.doc_id:
                weight[doc] = weight.get(doc, 0.0) + c.fused
    return {doc: math.log1p(w) for doc, w in weight.items()}


def features(question: str, candidates: Sequence[Candidate], terms: int) -> list[list[float]]:
    """One row of `FEATURES` per candidate, in the given order.

    Args:
        question: the question's text.
        candidates: the fused passages; the rank is their order by fused score (ties by id).
        terms: the question's own sparse terms (`Retriever._question_hits`).
    """
    cosines = [c.cosine for c in candidates if c.cosine is not None]
    sparses = [c.sparse for c in candidates if c.sparse is not None]
    low_cos, low_sparse = min(cosines, default=0.0), min(sparses, default=0.0)
    best_sparse = max(sparses, default=0.0)
    ranked = sorted(candidates, key=lambda c: (-c.fused, c.id))
    rank = {c.id: n for n, c in enumerate(ranked, 1)}
    asked = title_words(question)
    citing = cited_by(ranked)
    rows = []
    for c in candidates:
        sparse = c.sparse if c.sparse is not None else low_sparse
        held = title_words(c.title)
        shared = len(asked & held)
        rows.append(
            [
                c.fused,
                1.0 / rank[c.id],
                c.cosine if c.cosine is not None else low_cos,
                sparse / best_sparse if best_sparse > 0 else 0.0,
                sparse / max(1, terms),
                shared / max(1, len(held)),
                shared / max(1, len(asked)),
                1.0 if ":recital" in c.doc_id else 0.0,
                c.body,
                defines(asked, c.defined),
                citing.get(c.doc_id, 0.0),
            ]
        )
    return rows


def defines(asked: frozenset[str], defined: Sequence[str]) -> float:
    """The share of the question's words (`asked`, `title_words`) covered by the largest term
    the passage defines whose words the question all holds: 2/3 for "What counts as personal
    data?" and the definition of "personal data"; 0.0 when it defines none of its terms."""
    best = max((len(t) for t in asked_terms(defined, asked, title_words)), default=0)
    return best / len(asked) if asked else 0.0


@dataclass(frozen=True, slots=True)
class OrderModel:
    """Linear weights over `FEATURES`, fitted for one embedding model.

    Args:
        embed_model: the embedding model it was fitted with (`model_record.model_identity`).
        weights: one weight per feature of `FEATURES`.
        fitted_on: what it was fitted on (questions, counts, index), for the record.
    """

    embed_model: str
    weights: tuple[float, ...]
    fitted_on: dict[str, Any] = field(default_factory=dict)
    lead: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"need {len(FEATURES)} weights ({', '.join(FEATURES)})")
        if self.lead is not None and len(self.lead) != len(LEAD_FEATURES):
            raise ValueError(f"need {len(LEAD_FEATURES)} lead weights ({', '.join(LEAD_FEATURES)})")

    def scores(
        self, question: str, candidates: Sequence[Candidate], terms: int
    ) -> dict[str, float]:
        """id -> learned score, rescaled to [0, 1] over the candidates (min-max, as the
        fusion's scores are, so that what sums or lifts them downstream keeps its scale); the
        first document's passages in the lead order when the model has one (`lead_first`)."""
        raw = self.raw_scores(question, candidates, terms)
        if self.lead is not None:
            raw = lead_first(raw, candidates, self.lead, question)
        return normalised_sum([raw], (1.0,))

    def raw_scores(
        self, question: str, candidates: Sequence[Candidate], terms: int
    ) -> dict[str, float]:
        """id -> the linear order's score of each candidate (weights · `features`)."""
        rows = features(question, candidates, terms)
        return {
            c.id: sum(w * x for w, x in zip(self.weights, row, strict=True))
            for c, row in zip(candidates, rows, strict=True)
        }

    def save(self, path: Path) -> None:
        """Write the weights as JSON (atomically)."""
        write_fit(path, FORMAT, FEATURES, asdict(self))

    @classmethod
    def load(cls, path: Path) -> OrderModel:
        """Read weights written by `save`.

        Raises:
            ValueError: the file is not an order of this format (names the file).
        """
        data = read_fit(path, FORMAT, FEATURES, "learned order")
        try:
            lead = data.get("lead")
            if lead is not None and len(lead) == len(LEAD_FEATURES) - 1:
                # fitted before `held` was a lead feature: it leads as it did
                lead = [*lead, 0.0]
            return cls(
                str(data["embed_model"]),
                tuple(float(w) for w in data["weights"]),
                dict(data.get("fitted_on", {})),
                tuple(float(w) for w in lead) if lead is not None else None,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"learned order {path} is not usable: {err}") from err


def lead_document(raw: dict[str, float], candidates: Sequence[Candidate]) -> list[Candidate]:
    """The passages of the document whose passage `raw` scores best (ties by id, as a
    question's passages are ordered), in `candidates`' order; [] without candidates."""
    if not candidates:
        return []
    top = min(candidates, key=lambda c: (-raw[c.id], c.id)).doc_id
    return [c for c in candidates if c.doc_id == top]


@lru_cache(maxsize=4_096)  # the passages read lately (about 35 µs a passage otherwise)
def passage_words(heading: str, text: str) -> frozenset[str]:
    """The `content_words` of a passage's own heading and its text, the text read without the
    subdivision labels its lines begin with, as the passage is embedded."""
    return content_words(f"{without_line_labels(text)} {heading}")


def held_shares(question: str, own: Sequence[Candidate]) -> list[float]:
    """For each of one document's passages, the share of the question's words its text and
    heading hold, counting only the words some passage of the document holds.

    The words every sibling holds (the provision's subject) weigh the same for each; what
    separates them is the rest. "Can a copyright owner ask for statutory damages instead of
    actual damages?": 17 U.S.C. § 504(a) (an infringer is liable for actual or statutory
    damages) and § 504(b) (`Actual Damages and Profits`) hold "copyright owner", "actual" and
    "damages"; § 504(c)(1), the owner's election, holds "statutory" and "instead" too. Words
    no passage holds ("ask") count for none of them.
    """
    asked = title_words(question)
    held = [asked & passage_words(c.heading, c.text) for c in own]
    shared = len(frozenset().union(*held))
    return [len(h) / shared if shared else 0.0 for h in held]


def lead_rows(question: str, raw: dict[str, float], own: Sequence[Candidate]) -> list[list[float]]:
    """The `LEAD_FEATURES` of one document's passages (`own`, from `lead_document`)."""
    return [
        [raw[c.id], 1.0 if c.first else 0.0, held]
        for c, held in zip(own, held_shares(question, own), strict=True)
    ]


def lead_first(
    raw: dict[str, float], candidates: Sequence[Candidate], lead: Sequence[float], question: str
) -> dict[str, float]:
    """`raw` with the first document's passages re-ordered among themselves by the lead
    weights over `LEAD_FEATURES`.

    The linear order chooses documents well and the subdivision within one less well: its
    features are mostly the provision's, and among one provision's passages the best match of
    the question's words is often an exception or a procedure beside the rule it asks about
    (Fed. R. App. P. 4(c)(2), an inmate's notice of appeal "in a civil case", before 4(a)(1)(A),
    the 30-day rule that opens the rule). Each passage of the first document takes one of
    the document's own scores, the best to the one the lead weights prefer, so that no other
    document and not the document's own rank moves.
    """
    own = lead_document(raw, candidates)
    if len(own) < 2:
        return raw
    scores = sorted((raw[c.id] for c in own), reverse=True)
    rows = {c.id: row for c, row in zip(own, lead_rows(question, raw, own), strict=True)}
    chosen = sorted(
        own,
        key=lambda c: (-sum(w * x for w, x in zip(lead, rows[c.id], strict=True)), c.id),
    )
    out = dict(raw)
    out.update((c.id, score) for c, score in zip(chosen, scores, strict=True))
    return out


def lead_pairs(
    raw: dict[str, float], candidates: Sequence[Candidate], governs: Sequence[str], question: str
) -> list[list[float]]:
    """A question's training rows for the lead passage: among the passages of the document
    `raw` ranks first, every passage at a governing subdivision against every one that is
    not, the difference of their `LEAD_FEATURES`.

    Args:
        raw: id -> the linear order's score (`OrderModel.raw_scores`).
        candidates: the question's fused passages.
        governs: the ids of the passages at a governing subdivision of their document (the
            caller's judgments; a first document that does not govern gives no rows).
        question: the question (`held_shares` reads its words).
    """
    own = lead_document(raw, candidates)
    at = set(governs)
    rows = lead_rows(question, raw, own)
    good = [row for c, row in zip(own, rows, strict=True) if c.id in at]
    other = [row for c, row in zip(own, rows, strict=True) if c.id not in at]
    return [[a - b for a, b in zip(g, o, strict=True)] for g in good for o in other]


def document_pairs(
    rows: Sequence[Sequence[float]],
    candidates: Sequence[Candidate],
    grades: dict[str, int],
    documents: int = 30,
) -> list[list[float]]:
    """A question's training rows: for every two of its first `documents` documents (each
    represented by its best fused passage) graded differently, the feature difference of
    the better minus the worse.

    Args:
        rows: `features` of `candidates`.
        candidates: the question's fused passages.
        grades: doc_id -> judged grade (unjudged: 0).
        documents: documents per question, in fused order.
    """
    best: dict[str, int] = {}
    for n in sorted(range(len(candidates)), key=lambda i: (-candidates[i].fused, candidates[i].id)):
        if len(best) == documents:
            break
        best.setdefault(candidates[n].doc_id, n)
    kept = [(grades.get(doc, 0), rows[n]) for doc, n in best.items()]
    return [
        [a - b for a, b in zip(better, worse, strict=True)]
        for g1, better in kept
        for g2, worse in kept
        if g1 > g2
    ]


def fit_order(differences: Sequence[Sequence[float]], l2: float = 1.0) -> tuple[float, ...]:
    """Pairwise logistic regression: weights under which the better of each pair scores
    higher (`relevance.fit_logistic` over the differences both ways, intercept dropped).

    Raises:
        ValueError: no pair to learn from.
    """
    if not differences:
        raise ValueError("no pair of differently judged documents to learn from")
    both = [*differences, *([-x for x in d] for d in differences)]
    weights, _ = fit_logistic(both, [1] * len(differences) + [0] * len(differences), l2=l2)
    return weights


def _earlier_format(path: Path) -> bool:
    """Whether `path` holds a learned order written by an earlier release (format below
    `FORMAT`)."""
    try:
        fmt = json.loads(path.read_text()).get("format")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(fmt, int) and fmt < FORMAT


def load_order(
    model_dir: Path, embed_model: str, configured: Path | None = None
) -> OrderModel | None:
    """The learned order for the embedding model in use, or None (the fused order) when
    there is none.

    Args:
        model_dir: the embedding model's directory.
        embed_model: its identity (`indexing.model_record.model_identity`).
        configured: `JURIS_ORDER_FILE`, if set.

    Raises:
        ValueError: a configured or found file does not load.
        CalibrationMismatch: it was fitted for another embedding model.
    """
    from indexing.model_record import same_model

    path = calibration_path(model_dir, embed_model, configured, ORDER_FILE, "order")
    if path is None:
        log.warning(
            "no learned order for %s: questions keep the fused order "
            "(python -m indexing calibrate-order writes one)",
            embed_model,
        )
        return None
    try:
        model = OrderModel.load(path)
    except ValueError:
        if _earlier_format(path):
            # an upgrade added features: serve the fused order until it is fitted again
            log.error(
                "learned order %s is of an earlier format (fewer features): questions keep "
                "the fused order until it is fitted again (python -m indexing calibrate-order)",
                path,
            )
            return None
        raise
    if not same_model(model.embed_model, embed_model):
        raise CalibrationMismatch(
            f"learned order {path} was fitted for embedding model {model.embed_model}, "
            f"not {embed_model}; fit it again (python -m indexing calibrate-order)"
        )
    return model
