"""`python -m legal_corpus`: corpus statistics, one document with its pinpoints, the benchmark.

    python -m legal_corpus stats [--corpus DIR] [--sources uscode aila] [--json]
    python -m legal_corpus show fre:702 [--as-of 2023-06-01] [--corpus DIR]
    python -m legal_corpus show aila:C1
    python -m legal_corpus bench [--corpus DIR] [--out var/bench] [--sources …]

The corpus directory is `--corpus`, else `JURIS_CORPUS_DIR`, else `../shared/legal_corpus`.
Exit status: 0 when everything was read; 1 when a file could not be parsed (the summary names
it), an id is unknown or no version is in force; 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from pydantic_settings import BaseSettings, SettingsConfigDict

from legal_corpus.adapters import IngestReport, discover_units, parse_units, source_names
from legal_corpus.corpus import default_corpus_dir, load_versions, parse_date
from legal_corpus.model import LegalDocument, Section


class CorpusSettings(BaseSettings):
    """Configuration of the `legal_corpus` commands (environment variables `JURIS_*`)."""

    model_config = SettingsConfigDict(env_prefix="JURIS_", extra="ignore")

    corpus_dir: Path | None = None


class UsageError(Exception):
    """A command line that cannot be acted on (exit status 2)."""


def _corpus(arg: str | None, settings: CorpusSettings) -> Path:
    path = Path(arg).expanduser() if arg else (settings.corpus_dir or default_corpus_dir())
    if not path.is_dir():
        raise UsageError(f"corpus directory not found: {path} (use --corpus or JURIS_CORPUS_DIR)")
    return path.resolve()


def _progress(total: int, desc: str) -> Any:
    """A bar on a terminal; a plain log line every 30 s otherwise (`legal_corpus.progress`)."""
    from legal_corpus.progress import progress

    return progress(total=total, desc=desc, unit="file")


def _error_dict(err: Any) -> dict[str, str]:
    return {"path": err.path, "where": err.where, "message": err.message}


# --- stats ----------------------------------------------------------------------------------


@dataclass
class SourceStats:
    """Counts for one source."""

    units: int = 0
    doc_ids: set[str] = field(default_factory=set)
    versions: int = 0
    sections: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    warned: list[str] = field(default_factory=list)

    def add(self, doc: LegalDocument) -> None:
        self.doc_ids.add(doc.doc_id)
        if doc.metadata.get("parse_warnings"):
            self.warned.append(doc.version_key)
        self.versions += 1
        self.sections += sum(1 for _ in doc.walk())
        self.kinds[doc.kind.value] += 1
        self.labels[doc.version.label] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "documents": len(self.doc_ids),
            "versions": self.versions,
            "sections": self.sections,
            "kinds": dict(self.kinds),
            "version_labels": dict(self.labels.most_common()),
            "with_parse_warnings": self.warned,
        }


def collect_stats(
    corpus: Path, sources: Sequence[str] | None, report: IngestReport
) -> dict[str, SourceStats]:
    """Parse the selected sources of `corpus`, streaming, and count what they hold.

    Args:
        corpus: the corpus directory.
        sources: source names or prefixes (`aila`); None for all.
        report: collects the files that could not be parsed.

    Returns:
        Counts per source name.
    """
    names = source_names(sources)
    stats = {name: SourceStats() for name in names}
    units = discover_units(corpus, names)
    with _progress(len(units), "parsing") as bar:
        for unit in units:
            stats[unit.source].units += 1
            for doc in parse_units([unit], report):
                stats[doc.source].add(doc)
            bar.update()
    return stats


def _print_stats(
    corpus: Path, stats: dict[str, SourceStats], report: IngestReport, out: TextIO
) -> None:
    print(f"corpus: {corpus}", file=out)
    header = f"{'source':<18}{'files':>7}{'documents':>11}{'versions':>10}{'sections':>10}  kinds"
    print(header, file=out)
    kinds: Counter[str] = Counter()
    for name, s in stats.items():
        kinds.update(s.kinds)
        kind_text = ", ".join(f"{k} {n}" for k, n in s.kinds.most_common())
        counts = f"{s.units:>7}{len(s.doc_ids):>11}{s.versions:>10}{s.sections:>10}"
        print(f"{name:<18}{counts}  {kind_text}", file=out)
    total_docs = sum(len(s.doc_ids) for s in stats.values())
    total_versions = sum(s.versions for s in stats.values())
    total_units = sum(s.units for s in stats.values())
    total_sections = sum(s.sections for s in stats.values())
    print(
        f"{'total':<18}{total_units:>7}{total_docs:>11}{total_versions:>10}{total_sections:>10}  "
        + ", ".join(f"{k} {n}" for k, n in kinds.most_common()),
        file=out,
    )
    print("\nversions by label:", file=out)
    for name, s in stats.items():
        labels = s.labels.most_common()
        shown = ", ".join(f"{label} {n}" for label, n in labels[:8])
        more = f", … ({len(labels)} labels)" if len(labels) > 8 else ""
        print(f"  {name}: {shown or '-'}{more}", file=out)
    warned = [(name, s.warned) for name, s in stats.items() if s.warned]
    if warned:
        print("\nparsed with warnings (`show DOC_ID` lists them):", file=out)
        for name, keys in warned:
            more = f", … ({len(keys)} in all)" if len(keys) > 10 else ""
            print(f"  {name}: {', '.join(keys[:10])}{more}", file=out)
    if report.errors:
        print(f"\ncould not read {len(report.errors)} file(s):", file=out)
        for err in report.errors:
            print(f"  {err}", file=out)


def cmd_stats(args: argparse.Namespace, settings: CorpusSettings, out: TextIO) -> int:
    """`stats`: counts per source, kind and version, and the files that could not be read."""
    corpus = _corpus(args.corpus, settings)
    report = IngestReport()
    try:
        stats = collect_stats(corpus, args.sources, report)
    except ValueError as err:
        raise UsageError(str(err)) from err
    if args.json:
        kinds: Counter[str] = Counter()
        for s in stats.values():
            kinds.update(s.kinds)
        payload = {
            "corpus": str(corpus),
            "sources": {name: s.as_dict() for name, s in stats.items()},
            "kinds": dict(kinds),
            "documents": sum(len(s.doc_ids) for s in stats.values()),
            "versions": sum(s.versions for s in stats.values()),
            "errors": [_error_dict(e) for e in report.errors],
            "ok": report.ok,
        }
        print(json.dumps(payload, indent=2), file=out)
    else:
        _print_stats(corpus, stats, report, out)
    if report.errors:
        print(f"error: {len(report.errors)} file(s) skipped; see above", file=sys.stderr)
        return 1
    return 0


# --- show -----------------------------------------------------------------------------------


def _span(doc: LegalDocument) -> str:
    start = doc.version.valid_from.isoformat() if doc.version.valid_from else "…"
    end = doc.version.valid_to.isoformat() if doc.version.valid_to else "…"
    return f"{doc.version.label} [{start} – {end})"


def _print_section(section: Section, depth: int, out: TextIO) -> None:
    indent = "    " * depth
    heading = f" — {section.heading}" if section.heading else ""
    print(f"{indent}{section.citation}{heading}", file=out)
    _print_lines(section.text, indent, out)
    for child in section.children:
        _print_section(child, depth + 1, out)
    _print_lines(section.closing, indent, out)


def _print_lines(text: str, indent: str, out: TextIO) -> None:
    for line in text.splitlines():
        print(f"{indent}    {line}" if line.strip() else "", file=out)


def print_document(doc: LegalDocument, others: Sequence[LegalDocument], out: TextIO) -> None:
    """Print a document's header and every section with its pinpoint citation, by depth.

    Args:
        doc: the version to print.
        others: all versions of the document (listed in the header).
        out: where to print.
    """
    print(f"{doc.doc_id} — {doc.title}", file=out)
    print(f"citation:     {doc.citation}", file=out)
    line = f"kind:         {doc.kind.value}    jurisdiction: {doc.jurisdiction}"
    if doc.court:
        line += f"    court: {doc.court}"
    print(line, file=out)
    if doc.decision_date:
        print(f"decided:      {doc.decision_date.isoformat()}", file=out)
    print(f"version:      {_span(doc)}", file=out)
    if len(others) > 1:
        print(f"all versions: {'; '.join(_span(d) for d in others)}", file=out)
    if doc.heading_path:
        print(f"within:       {' › '.join(doc.heading_path)}", file=out)
    print(f"source:       {doc.source_path}", file=out)
    warnings = doc.metadata.get("parse_warnings")
    if warnings:
        print(f"warnings:     {'; '.join(warnings)}", file=out)
    print(file=out)
    for section in doc.sections:
        _print_section(section, 0, out)


def cmd_show(args: argparse.Namespace, settings: CorpusSettings, out: TextIO) -> int:
    """`show`: one document (the version in force on `--as-of`, else the latest) with pinpoints."""
    corpus = _corpus(args.corpus, settings)
    day: date | None = None
    if args.as_of:
        try:
            day = parse_date(args.as_of)
        except ValueError as err:
            raise UsageError(str(err)) from err
    report = IngestReport()
    try:
        versions = load_versions(args.doc_id, corpus, report)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for failure in report.errors:
        print(f"error: could not read {failure}", file=sys.stderr)
    if not versions:
        print(f"error: no document {args.doc_id!r} in {corpus}", file=sys.stderr)
        return 1
    if day is not None:
        chosen = next((d for d in versions if d.version.in_force(day)), None)
        if chosen is None:
            spans = "; ".join(_span(d) for d in versions)
            print(
                f"error: no version of {args.doc_id} in force on {day.isoformat()} "
                f"(versions: {spans})",
                file=sys.stderr,
            )
            return 1
    else:
        current = [d for d in versions if d.version.valid_to is None]
        chosen = (current or versions)[-1]
    print_document(chosen, versions, out)
    return 1 if report.errors else 0


# --- entry point ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of `python -m legal_corpus`."""
    parser = argparse.ArgumentParser(
        prog="python -m legal_corpus",
        description="Juris legal corpus: statistics, documents with pinpoints, parse benchmark.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    corpus_help = "corpus directory (default: $JURIS_CORPUS_DIR or ../shared/legal_corpus)"

    stats = sub.add_parser("stats", help="counts per source, kind and version; unreadable files")
    stats.add_argument("--corpus", help=corpus_help)
    stats.add_argument("--sources", nargs="+", help="source names or prefixes (default: all)")
    stats.add_argument("--json", action="store_true", help="print one JSON object")

    show = sub.add_parser("show", help="print a document with its pinpoints")
    show.add_argument("doc_id", help="e.g. fre:702, usc:17/107, aila:C1, cap:4223181")
    show.add_argument("--as-of", help="the version in force on this date (YYYY-MM-DD)")
    show.add_argument("--corpus", help=corpus_help)

    bench = sub.add_parser("bench", help="parse the whole corpus per adapter: docs/s, peak RSS")
    bench.add_argument("--corpus", help=corpus_help)
    bench.add_argument("--out", default="var/bench", help="result folder (default: var/bench)")
    bench.add_argument("--sources", nargs="+", help="source names or prefixes (default: all)")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run a `legal_corpus` command.

    Args:
        argv: the arguments (default: `sys.argv[1:]`).
        out: where results are printed (default: stdout); errors go to stderr.

    Returns:
        The exit status.
    """
    args = build_parser().parse_args(argv)
    settings = CorpusSettings()
    out = out or sys.stdout
    # progress lines off a terminal go through `logging` (legal_corpus.progress)
    logging.getLogger("juris.progress").setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args.command == "stats":
            return cmd_stats(args, settings, out)
        if args.command == "show":
            return cmd_show(args, settings, out)
        from legal_corpus.lab.bench import run_bench

        corpus = _corpus(args.corpus, settings)
        try:
            names = source_names(args.sources)
        except ValueError as err:
            raise UsageError(str(err)) from err
        return run_bench(corpus, names, Path(args.out), out)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
