"""Figures of `python -m training compare`: per-answer measures, bootstrap intervals, the report.

Every measure comes from the gateway's verifier's report on an answer (`serving.verify`); this
module only counts. A rate is a ratio of sums over questions (citations verified / citations
written, …); its 95% interval is a percentile bootstrap over questions (resampled with
replacement, seeded), so a question with many citations weighs as it does in the rate.

    >>> bootstrap_ratio([(1, 1), (0, 1), (1, 1)], resamples=2000, seed=0)
    (0.6667, 0.0, 1.0)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# measure key → (label, numerator, denominator, higher is better)
MEASURES: dict[str, tuple[str, str, str, bool]] = {
    "governing_verified": (
        "governing provision cited and verified",
        "governing_verified",
        "has_oracle",
        True,
    ),
    "governing_cited": (
        "governing provision cited (any status)",
        "governing_cited",
        "has_oracle",
        True,
    ),
    "citation_precision": ("citation precision", "citations_verified", "citations", True),
    "unknown_rate": ("citations to unknown authority", "citations_unknown", "citations", False),
    "quotes_verbatim": ("quotes verbatim", "quotes_verbatim", "quotes", True),
    "unsupported_rate": ("unsupported-claim rate", "unsupported", "sentences", False),
    "abstention": ("abstains when the oracle is absent", "abstained", "no_oracle", True),
    "uncited_rate": (
        "answers citing none of their sources (set aside by default)",
        "uncited",
        "sourced",
        False,
    ),
}


def bootstrap_ratio(
    pairs: Sequence[tuple[float, float]], resamples: int = 2000, seed: int = 0
) -> tuple[float | None, float | None, float | None]:
    """sum(num)/sum(den) over `pairs` and its 95% percentile-bootstrap interval.

    Args:
        pairs: (numerator, denominator) per question; questions with denominator 0 count in
            the resampling (they carry no weight) so the interval reflects the sample.
        resamples: bootstrap resamples.
        seed: seeds the resampling.

    Returns:
        (rate, low, high), rounded to 4 places; None for each when no denominator is positive.
    """
    den = sum(d for _, d in pairs)
    if den <= 0:
        return None, None, None
    rate = sum(n for n, _ in pairs) / den
    rng = random.Random(seed)
    stats = []
    k = len(pairs)
    for _ in range(resamples):
        sample = [pairs[rng.randrange(k)] for _ in range(k)]
        d = sum(x for _, x in sample)
        if d > 0:
            stats.append(sum(x for x, _ in sample) / d)
    stats.sort()
    lo = stats[int(0.025 * (len(stats) - 1))]
    hi = stats[round(0.975 * (len(stats) - 1))]
    return round(rate, 4), round(lo, 4), round(hi, 4)


@dataclass(frozen=True, slots=True)
class Summary:
    """One configuration's figures on one question set."""

    config: str
    question_set: str
    answers: int
    errors: int
    rates: dict[str, tuple[float | None, float | None, float | None]]
    latency_p50_s: float | None
    tokens_per_s: float | None


def summarise(
    config: str, question_set: str, records: Sequence[dict[str, Any]], seed: int = 0
) -> Summary:
    """The measures of one configuration on one question set, with their intervals.

    Args:
        config: configuration name.
        question_set: `raft` or `lawyers`.
        records: the answer records (`counts` per answer; `error` when generation failed).
        seed: seeds the bootstrap.

    Returns:
        The summary.
    """
    ok = [r for r in records if not r.get("error")]
    rates = {}
    for key, (_, num, den, _) in MEASURES.items():
        # an answer recorded before a measure existed has none of its counts: it weighs 0
        pairs = [(float(r["counts"].get(num, 0)), float(r["counts"].get(den, 0))) for r in ok]
        rates[key] = bootstrap_ratio(pairs, seed=seed) if pairs else (None, None, None)
    latencies = sorted(r["latency_s"] for r in ok)
    tokens = sum(r.get("completion_tokens") or 0 for r in ok)
    seconds = sum(r.get("generation_s") or 0.0 for r in ok)
    return Summary(
        config=config,
        question_set=question_set,
        answers=len(ok),
        errors=len(records) - len(ok),
        rates=rates,
        latency_p50_s=round(latencies[len(latencies) // 2], 2) if latencies else None,
        tokens_per_s=round(tokens / seconds, 1) if seconds > 0 else None,
    )


def _cell(value: tuple[float | None, float | None, float | None]) -> str:
    rate, lo, hi = value
    if rate is None:
        return "—"
    return f"{100 * rate:.1f}% [{100 * (lo or 0):.1f}, {100 * (hi or 0):.1f}]"


def markdown_table(summaries: Sequence[Summary], labels: dict[str, str]) -> str:
    """A table: one row per configuration, one column per measure (rate [95% CI])."""
    head = ["configuration", "answers"] + [MEASURES[k][0] for k in MEASURES]
    head += ["latency p50", "tokens/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summaries:
        cells = [
            labels.get(s.config, s.config),
            f"{s.answers}" + (f" ({s.errors} failed)" if s.errors else ""),
        ]
        cells += [_cell(s.rates[k]) for k in MEASURES]
        cells += [
            f"{s.latency_p50_s} s" if s.latency_p50_s is not None else "—",
            f"{s.tokens_per_s}" if s.tokens_per_s is not None else "—",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _rate(s: Summary | None, key: str) -> float | None:
    return s.rates[key][0] if s is not None else None


def conclusions(summaries: Sequence[Summary], question_set: str, targets: dict[str, float]) -> str:
    """One paragraph of plain-language conclusions, written from the numbers.

    Args:
        summaries: the set's summaries (configurations `base-closed`, `base-rag`,
            `ft-closed`, `ft-rag`, `raft-rag` where present).
        question_set: which set they are for.
        targets: `raft_gain_points`, `precision`, `unknown` thresholds.

    Returns:
        The paragraph (Markdown).
    """
    by = {s.config: s for s in summaries}
    out = []
    base, raft, ft = by.get("base-rag"), by.get("raft-rag"), by.get("ft-rag")
    g_base, g_raft = _rate(base, "governing_verified"), _rate(raft, "governing_verified")
    if g_base is not None and g_raft is not None and raft is not None and base is not None:
        gain = 100 * (g_raft - g_base)
        overlap = (raft.rates["governing_verified"][1] or 0) <= (
            base.rates["governing_verified"][2] or 0
        )
        verdict = "meets" if gain >= targets["raft_gain_points"] else "misses"
        out.append(
            f"On the {question_set} questions, the RAFT adapter with retrieval cites the governing "
            f"provision with a verified citation in {100 * g_raft:.0f}% of answers against "
            f"{100 * g_base:.0f}% for the base model with the same retrieval and prompt: "
            f"{gain:+.0f} points, which {verdict} the "
            f"{targets['raft_gain_points']:.0f}-point target"
            + (
                " (the intervals overlap, so the difference is not established)."
                if overlap
                else "."
            )
        )
    p_raft, u_raft = _rate(raft, "citation_precision"), _rate(raft, "unknown_rate")
    if p_raft is not None and u_raft is not None:
        ok_p = p_raft >= targets["precision"]
        ok_u = u_raft <= targets["unknown"]
        out.append(
            f"Of the citations it writes, {100 * p_raft:.0f}% verify (target "
            f"{100 * targets['precision']:.0f}%: {'met' if ok_p else 'missed'}) and "
            f"{100 * u_raft:.1f}% name authority the corpus does not hold (target ≤ "
            f"{100 * targets['unknown']:.0f}%: {'met' if ok_u else 'missed'})."
        )
    closed = [c for c in ("base-closed", "ft-closed") if c in by]
    if closed:
        parts = [
            f"{name.replace('-closed', '')} {100 * (_rate(by[name], 'unknown_rate') or 0):.0f}%"
            for name in closed
        ]
        out.append(
            "Without sources no citation can be verified against what was given; the share of "
            "closed-book citations naming authority absent from the corpus (hallucinated "
            "authority) is " + ", ".join(parts) + "."
        )
    g_ft = _rate(ft, "governing_verified")
    if g_ft is not None and g_raft is not None:
        better = "RAFT" if g_raft > g_ft else "fine-tuning without sources"
        out.append(
            f"Trained on the same rows, the adapter that saw sources during training (RAFT) "
            f"{'beats' if g_raft > g_ft else 'does not beat'} the one that did not when both "
            f"answer with retrieval ({100 * g_raft:.0f}% against {100 * g_ft:.0f}%): {better} "
            "uses the retrieved passages better."
        )
    abst = _rate(raft, "abstention")
    if abst is not None:
        out.append(
            f"When the governing passage is missing from the sources, the RAFT adapter says so "
            f"in {100 * abst:.0f}% of answers."
        )
    return " ".join(out) if out else "Too few answers to conclude."


def bar_chart(
    summaries: Sequence[Summary], labels: dict[str, str], path: Any, keys: Sequence[str]
) -> None:
    """Grouped bars (one group per measure, one bar per configuration) with 95% intervals,
    one panel per question set, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(dict.fromkeys(s.question_set for s in summaries))
    fig, axes = plt.subplots(len(sets), 1, figsize=(12, 4.2 * len(sets)), squeeze=False)
    for ax, qset in zip(axes[:, 0], sets, strict=True):
        rows = [s for s in summaries if s.question_set == qset]
        width = 0.8 / max(1, len(rows))
        for i, s in enumerate(rows):
            xs: list[float] = []
            ys: list[float] = []
            errs: list[list[float]] = [[], []]
            for j, key in enumerate(keys):
                rate, lo, hi = s.rates[key]
                xs.append(j + i * width)
                ys.append(100 * (rate or 0))
                errs[0].append(100 * max(0.0, (rate or 0) - (lo or 0)))
                errs[1].append(100 * max(0.0, (hi or 0) - (rate or 0)))
            ax.bar(xs, ys, width, yerr=errs, capsize=2, label=labels.get(s.config, s.config))
        ax.set_xticks([j + width * (len(rows) - 1) / 2 for j in range(len(keys))])
        ax.set_xticklabels([MEASURES[k][0] for k in keys], rotation=12, fontsize=8)
        ax.set_ylim(0, 105)
        ax.set_ylabel("% (95% CI)")
        ax.set_title(f"{qset} questions")
        ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
