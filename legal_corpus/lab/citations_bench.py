"""Citation parsing benchmark: milliseconds per 10,000 characters on real opinions and judgments.

    python -m legal_corpus.citations bench [--corpus DIR] [--out var/bench]

Measures, in one process:

- the first call, which imports eyecite and builds its tokenizer (paid once per process);
- the bundled US opinions (`opinions/text/*.txt`) and a 50-page opinion (the opinions joined
  and repeated up to 150,000 characters, about 3,000 characters a page): median of 5 runs,
  with the share of the regular-expression parsers and of eyecite;
- a slice of the AILA judgments (Indian statutes, the Constitution, reporters): one pass.

Results go to `<out>/citations.json` and `<out>/citations.md`.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIFTY_PAGES = 150_000
RUNS = 5
AILA_FILES = 300


def _median_ms(fn: Callable[[], object], runs: int = RUNS) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds of `fn` over `runs` calls.

    On a shared machine the wall clock includes waiting for a core; the process CPU time is
    the cost of the work itself. Both are reported.
    """
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def _per_10k(ms: float, chars: int) -> float:
    return round(ms / (chars / 10_000), 2)


def measure_text(name: str, text: str) -> dict[str, Any]:
    """Time `parse_citations` on one text, and its two halves (patterns, eyecite).

    Args:
        name: a label for the text.
        text: the text.

    Returns:
        Characters, citations by kind, median milliseconds in total and per 10k characters,
        and the same for the pattern parsers and for eyecite alone.
    """
    from legal_corpus.citations import parse_citations
    from legal_corpus.citations.cases import case_candidates
    from legal_corpus.citations.patterns import (
        gdpr_candidates,
        indian_candidates,
        rule_candidates,
        select,
        usc_candidates,
    )

    def own() -> list[Any]:
        return select(
            [
                *usc_candidates(text),
                *rule_candidates(text),
                *gdpr_candidates(text),
                *indian_candidates(text),
            ]
        )

    taken = own()
    found = parse_citations(text)
    total, total_cpu = _median_ms(lambda: parse_citations(text))
    _, patterns = _median_ms(own)
    _, cases = _median_ms(lambda: case_candidates(text, taken))
    return {
        "text": name,
        "chars": len(text),
        "citations": len(found),
        "by_kind": dict(Counter(c.kind.value for c in found)),
        "wall_ms": round(total, 1),
        "cpu_ms": round(total_cpu, 1),
        "cpu_ms_per_10k": _per_10k(total_cpu, len(text)),
        "wall_ms_per_10k": _per_10k(total, len(text)),
        "patterns_cpu_ms_per_10k": _per_10k(patterns, len(text)),
        "eyecite_cpu_ms_per_10k": _per_10k(cases, len(text)),
    }


def run_bench(corpus: Path, out: Path) -> int:
    """Run the benchmark and write its results.

    Args:
        corpus: the corpus directory.
        out: the result folder (created).

    Returns:
        The exit status (0).
    """
    from tqdm import tqdm

    from legal_corpus.citations import parse_citations

    opinions = sorted((corpus / "opinions" / "text").glob("*.txt"))
    texts = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in opinions}

    start = time.perf_counter()
    parse_citations("Roe v. Wade, 410 U.S. 113 (1973)")
    first_call_s = time.perf_counter() - start

    joined = "\n\n".join(texts.values())
    fifty = (joined * (FIFTY_PAGES // max(1, len(joined)) + 1))[:FIFTY_PAGES]
    rows = [measure_text(name, text) for name, text in texts.items()]
    rows.append(measure_text("50-page opinion (150k chars)", fifty))

    judgments = sorted((corpus / "aila" / "casedocs").glob("C*.txt"))[:AILA_FILES]
    kinds: Counter[str] = Counter()
    chars = 0
    elapsed = 0.0
    elapsed_cpu = 0.0
    bar = tqdm(judgments, desc="AILA judgments", unit="file", disable=not sys.stderr.isatty())
    for path in bar:
        text = path.read_text(encoding="utf-8", errors="replace")
        chars += len(text)
        start, start_cpu = time.perf_counter(), time.process_time()
        found = parse_citations(text)
        elapsed += time.perf_counter() - start
        elapsed_cpu += time.process_time() - start_cpu
        kinds.update(c.kind.value for c in found)
    aila = {
        "files": len(judgments),
        "chars": chars,
        "citations": sum(kinds.values()),
        "by_kind": dict(kinds),
        "cpu_ms_per_10k": _per_10k(elapsed_cpu * 1000, max(chars, 1)),
        "wall_ms_per_10k": _per_10k(elapsed * 1000, max(chars, 1)),
    }

    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "first_call_s": round(first_call_s, 3),
        "texts": rows,
        "aila": aila,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "citations.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Citation parsing benchmark",
        "",
        f"{result['when']}, Python {result['python']}, {result['cpus']} CPUs, load average "
        f"{result['load_average_1m']}. First call (imports eyecite, builds its tokenizer): "
        f"{result['first_call_s']} s. Medians of {RUNS} runs; CPU = process time (the work), "
        "wall = elapsed (includes waiting for a core on a shared machine).",
        "",
        "| text | chars | citations | CPU ms | CPU ms / 10k chars | wall ms | wall ms / 10k "
        "| regex parsers CPU ms / 10k | eyecite CPU ms / 10k |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['text']} | {r['chars']} | {r['citations']} | {r['cpu_ms']} "
            f"| {r['cpu_ms_per_10k']} | {r['wall_ms']} | {r['wall_ms_per_10k']} "
            f"| {r['patterns_cpu_ms_per_10k']} | {r['eyecite_cpu_ms_per_10k']} |"
        )
    lines += [
        "",
        f"AILA judgments: {aila['files']} files, {aila['chars']} chars, {aila['citations']} "
        f"citations {aila['by_kind']}, {aila['cpu_ms_per_10k']} CPU ms / 10k chars "
        f"({aila['wall_ms_per_10k']} wall).",
        "",
    ]
    (out / "citations.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0
