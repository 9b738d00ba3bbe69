"""Parse benchmark: stream the whole corpus through each adapter; documents/s and peak memory.

    python -m legal_corpus bench [--corpus DIR] [--out var/bench] [--sources uscode aila]

Each adapter runs in a fresh process (spawned), so its peak resident memory
(`VmHWM` of that process) is its own and not the high-water mark of the adapters before
it. The time includes importing the adapter's libraries (for rulings: unstructured and spaCy),
which a nightly run pays once. Results go to `<out>/legal_corpus.json` and
`<out>/legal_corpus.md`; the exit status is 1 when any file could not be parsed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import resource
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB.

    Linux's `VmHWM` (reset when a process execs, so a spawned child reports its own peak);
    elsewhere `ru_maxrss`, which on Linux would also carry the parent's peak across the
    fork that starts a spawned child.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss) / 2**20


def bench_source(corpus: str, source: str) -> dict[str, Any]:
    """Parse every unit of one source, streaming, and measure it (runs in a child process).

    Args:
        corpus: the corpus directory.
        source: the adapter's source name.

    Returns:
        Units, documents, sections, characters, seconds, documents/s, peak and baseline RSS
        (MiB) and the errors.
    """
    from tqdm import tqdm

    from legal_corpus.adapters import IngestReport, make_adapter, parse_units

    baseline = _rss_mb()
    start = time.perf_counter()
    adapter = make_adapter(source)
    units = adapter.discover(Path(corpus))
    report = IngestReport()
    docs = sections = chars = 0
    first_doc_s: float | None = None
    bar = tqdm(units, desc=source, unit="file", disable=not sys.stderr.isatty(), leave=False)
    for unit in bar:
        for doc in parse_units([unit], report):
            if first_doc_s is None:
                first_doc_s = time.perf_counter() - start
            docs += 1
            for section in doc.walk():
                sections += 1
                chars += len(section.text)
    seconds = time.perf_counter() - start
    return {
        "source": source,
        "units": len(units),
        "documents": docs,
        "sections": sections,
        "text_mb": round(chars / 1e6, 2),
        "seconds": round(seconds, 2),
        "first_document_s": round(first_doc_s, 2) if first_doc_s is not None else None,
        "documents_per_s": round(docs / seconds, 1) if seconds > 0 else None,
        "units_per_s": round(len(units) / seconds, 2) if seconds > 0 else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "baseline_rss_mb": round(baseline, 1),
        "errors": [{"path": e.path, "where": e.where, "message": e.message} for e in report.errors],
    }


def _child(corpus: str, source: str, queue: Any) -> None:
    try:
        queue.put(bench_source(corpus, source))
    except Exception as err:  # reported as the source's result, the benchmark goes on
        queue.put({"source": source, "failed": f"{type(err).__name__}: {err}", "errors": []})


def _run_isolated(corpus: Path, source: str) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(str(corpus), source, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def render_markdown(results: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    """A Markdown table of the per-adapter results.

    Args:
        results: one `bench_source` result per adapter.
        meta: machine and run details shown above the table.

    Returns:
        The Markdown text.
    """
    lines = [
        "# legal_corpus parse benchmark",
        "",
        f"- corpus: `{meta['corpus']}`",
        f"- machine: {meta['machine']}, {meta['cpus']} CPUs, Python {meta['python']}",
        f"- run: {meta['finished']} (each adapter in its own process; time includes imports)",
        "",
        "| source | files | documents | sections | text MB | seconds | docs/s "
        "| peak RSS MiB | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if "failed" in r:
            lines.append(f"| {r['source']} | – | – | – | – | – | – | – | failed: {r['failed']} |")
            continue
        lines.append(
            f"| {r['source']} | {r['units']} | {r['documents']} | {r['sections']} | "
            f"{r['text_mb']} | {r['seconds']} | {r['documents_per_s']} | {r['peak_rss_mb']} | "
            f"{len(r['errors'])} |"
        )
    errors = [e for r in results for e in r.get("errors", [])]
    if errors:
        lines += ["", "Files that could not be parsed:", ""]
        lines += [f"- `{e['path']}` ({e['where']}): {e['message']}" for e in errors]
    return "\n".join(lines) + "\n"


def run_bench(corpus: Path, sources: Sequence[str], out_dir: Path, out: TextIO) -> int:
    """Benchmark every selected adapter and write `legal_corpus.json` / `.md` into `out_dir`.

    Args:
        corpus: the corpus directory.
        sources: adapter source names.
        out_dir: the result folder (created).
        out: where the Markdown summary is printed.

    Returns:
        0 when every file parsed, else 1.
    """
    results = []
    for source in sources:
        result = _run_isolated(corpus, source)
        results.append(result)
        if "failed" in result:
            print(f"{source}: failed: {result['failed']}", file=sys.stderr)
        else:
            print(
                f"{source}: {result['documents']} documents in {result['seconds']} s "
                f"({result['documents_per_s']}/s), peak RSS {result['peak_rss_mb']} MiB",
                file=sys.stderr,
            )
    meta = {
        "corpus": str(corpus),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "legal_corpus.json").write_text(
        json.dumps({"meta": meta, "results": results}, indent=2) + "\n"
    )
    markdown = render_markdown(results, meta)
    (out_dir / "legal_corpus.md").write_text(markdown)
    print(markdown, file=out)
    bad = any("failed" in r or r.get("errors") for r in results)
    return 1 if bad else 0
