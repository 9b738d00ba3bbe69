"""Whether the index addresses a question at all: a relevance signal calibrated on questions.

A ranking always has a first passage. Asked about law the index does not hold (a state's
statute, another country's code, a US Code title that is not bundled), retrieval still
returns the nearest provisions, and an answer quoting them verifies perfectly while governing
nothing. This module turns how well the best passages matched into a probability that the
index holds the governing law, so the gateway can say when it does not.

The features are absolute, not ranks: the best dense cosine between the question and a
passage (the embedding model's own scale), and the best sparse score per query term the
index holds (BM25 with the index's IDF). A logistic regression over them is fitted on
questions with known answers — answerable ones judged to provisions of the corpus, and ones
whose governing law is not in it — and the threshold is chosen on the same questions
(`python -m indexing calibrate-relevance`, the evaluation lab). The fit belongs to one
embedding model (its cosines mean nothing to another), so the calibration file records the
model it was fitted with and is refused for any other.

Between the threshold and a second, higher cut (`caution`, chosen on the same questions so
that it flags at most a set share of the answerable ones) a question is answered but marked a
weak match: the gateway answers it and tells the reader to check that the passages govern.
On the dev questions most of the unanswerable ones that pass the threshold fall there.

    >>> model = RelevanceModel.load(Path("var/models/juris-embedder/juris_relevance.json"))
    >>> model.assess(cosine=0.61, bm25=4.2)
    Relevance(probability=0.93, answered=True, cosine=0.61, bm25=4.2, weak=False)
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexing.model import Relevance

log = logging.getLogger(__name__)

# the calibration file a trained model directory carries
CALIBRATION_FILE = "juris_relevance.json"
# calibrations of the models the package ships with (the bundled MiniLM)
PACKAGED = Path(__file__).resolve().parent / "calibration"
FEATURES = ("cosine", "bm25")
FORMAT = 1


class CalibrationMismatch(ValueError):
    """The calibration file was fitted for another embedding model."""


@dataclass(frozen=True, slots=True)
class RelevanceModel:
    """A logistic regression over a question's match features, with its threshold.

    Args:
        embed_model: the embedding model it was fitted with (`model_record.model_identity`).
        weights: one weight per feature of `FEATURES`.
        bias: the intercept.
        threshold: probability from which a question counts as answered.
        fitted_on: what it was fitted on (questions, counts), for the record.
        caution: probability below which an answered question is a weak match
            (`Relevance.weak`); None (a calibration without one): never.
    """

    embed_model: str
    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5
    fitted_on: dict[str, Any] = field(default_factory=dict)
    caution: float | None = None

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"need {len(FEATURES)} weights ({', '.join(FEATURES)})")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("threshold must be between 0 and 1")
        if self.caution is not None and not self.threshold <= self.caution <= 1.0:
            raise ValueError("caution must be between the threshold and 1")

    def probability(self, cosine: float, bm25: float) -> float:
        """P(the index holds the governing law) for these match features."""
        z = self.bias + sum(w * x for w, x in zip(self.weights, (cosine, bm25), strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def assess(self, cosine: float, bm25: float) -> Relevance:
        """The `Relevance` of a question whose best matches scored `cosine` and `bm25`."""
        p = self.probability(cosine, bm25)
        answered = p >= self.threshold
        weak = answered and self.caution is not None and p < self.caution
        return Relevance(p, answered, cosine, bm25, weak)

    def save(self, path: Path) -> None:
        """Write the calibration as JSON (atomically)."""
        write_fit(path, FORMAT, FEATURES, asdict(self))

    @classmethod
    def load(cls, path: Path) -> RelevanceModel:
        """Read a calibration written by `save`.

        Raises:
            ValueError: the file is not a calibration of this format (names the file).
        """
        data = read_fit(path, FORMAT, FEATURES, "relevance calibration")
        try:
            return cls(
                str(data["embed_model"]),
                tuple(float(w) for w in data["weights"]),
                float(data["bias"]),
                float(data.get("threshold", 0.5)),
                dict(data.get("fitted_on", {})),
                None if data.get("caution") is None else float(data["caution"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"relevance calibration {path} is not usable: {err}") from err


def write_fit(path: Path, fmt: int, features: Sequence[str], fields: dict[str, Any]) -> None:
    """Write a fit of weights over named features as JSON, atomically (a reader never sees a
    half-written file): its format, the features in order, and `fields`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": fmt, "features": list(features), **fields}
    data["weights"] = list(data.get("weights", ()))
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def read_fit(path: Path, fmt: int, features: Sequence[str], what: str) -> dict[str, Any]:
    """The JSON `write_fit` wrote, checked to be of format `fmt` over `features` in order.

    Raises:
        ValueError: unreadable, not JSON, or another format or feature list (names `what`
            and the file).
    """
    try:
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if data.get("format") != fmt or list(data.get("features", ())) != list(features):
            raise ValueError(f"format {data.get('format')}, features {data.get('features')}")
        return data
    except (OSError, ValueError) as err:
        raise ValueError(f"{what} {path} is not usable: {err}") from err


def fit_logistic(
    features: Sequence[Sequence[float]], labels: Sequence[int], l2: float = 1e-3, steps: int = 50
) -> tuple[tuple[float, ...], float]:
    """Logistic regression by Newton's method (a small L2 penalty keeps separable data finite).

    Args:
        features: one row of `FEATURES` values per question.
        labels: 1 for a question the index answers, 0 for one it does not.
        l2: ridge penalty on the weights (not the intercept).
        steps: Newton iterations (converges in a handful on two features).

    Returns:
        `(weights, bias)`.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(y) or len(set(y.tolist())) < 2:
        raise ValueError("need a feature row per label and both labels present")
    design = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(design.shape[1])
    penalty = np.eye(design.shape[1]) * l2
    penalty[-1, -1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -50, 50)))
        grad = design.T @ (p - y) + penalty @ beta
        hess = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(beta)), grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return tuple(float(b) for b in beta[:-1]), float(beta[-1])


def packaged_path(embed_model: str, kind: str = "") -> Path:
    """Where the package keeps a fit of a model it ships (by weights digest): the relevance
    calibration, or with `kind` another fit (`order`: `indexing.learned_order`)."""
    digest_backend = embed_model.partition("@")[2].replace("/", "-")
    return PACKAGED / f"{digest_backend}{'.' + kind if kind else ''}.json"


def calibration_path(
    model_dir: Path,
    embed_model: str,
    configured: Path | None = None,
    own_file: str = CALIBRATION_FILE,
    kind: str = "",
) -> Path | None:
    """Where a fit for the model in use is: the configured file, else the one the model
    directory carries (`own_file`), else the package's for a model it ships (`kind`, see
    `packaged_path`); None when there is none.
    """
    if configured is not None:
        return configured
    own = Path(model_dir) / own_file
    if own.is_file():
        return own
    packaged = packaged_path(embed_model, kind)
    return packaged if packaged.is_file() else None


def load_relevance(
    model_dir: Path, embed_model: str, configured: Path | None = None
) -> RelevanceModel | None:
    """The calibration for the embedding model in use, or None (no abstention) when none.

    Args:
        model_dir: the embedding model's directory.
        embed_model: its identity (`indexing.model_record.model_identity`).
        configured: `JURIS_RELEVANCE_FILE`, if set.

    Raises:
        ValueError: a configured or found file does not load.
        CalibrationMismatch: it was fitted for another embedding model.
    """
    from indexing.model_record import same_model

    path = calibration_path(model_dir, embed_model, configured)
    if path is None:
        log.warning(
            "no relevance calibration for %s: every question counts as answered "
            "(python -m indexing calibrate-relevance writes one)",
            embed_model,
        )
        return None
    model = RelevanceModel.load(path)
    if not same_model(model.embed_model, embed_model):
        raise CalibrationMismatch(
            f"relevance calibration {path} was fitted for embedding model {model.embed_model}, "
            f"not {embed_model}; calibrate again (python -m indexing calibrate-relevance)"
        )
    return model
