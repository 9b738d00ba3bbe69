"""`python -m legal_corpus` on a small slice of the real corpus (links in a temporary folder)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from legal_corpus.cli import main

pytestmark = pytest.mark.unit

SLICE = [
    "aila/casedocs/C1.txt",
    "aila/casedocs/C2.txt",
    "aila/statutes/S45.txt",
    "aila/statutes/S46.txt",
    "opinions/cap_json/case_6.json",
    "federal_rules/evidence/rule-702",
]
HAS_RULES = importlib.util.find_spec("legal_corpus.adapters.federal_rules") is not None


@pytest.fixture(scope="module")
def small_corpus(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for rel in SLICE:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).symlink_to(corpus_dir / rel)
    return root


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    return main(argv, out=out), out.getvalue()


def test_stats_json_counts(small_corpus: Path) -> None:
    code, text = run(
        ["stats", "--corpus", str(small_corpus), "--json", "--sources", "aila", "opinions"]
    )
    assert code == 0
    stats = json.loads(text)
    assert stats["ok"] is True and stats["errors"] == []
    assert stats["sources"]["aila/casedocs"]["documents"] == 2
    assert stats["sources"]["aila/statutes"]["kinds"] == {"statute": 2}
    assert stats["sources"]["opinions/cap"]["version_labels"] == {"CAP": 1}
    assert stats["sources"]["opinions/rulings"]["units"] == 0
    assert stats["kinds"] == {"opinion": 3, "statute": 2}
    assert "uscode" not in stats["sources"]


@pytest.mark.skipif(not HAS_RULES, reason="the Federal Rules adapter is not in this checkout")
def test_stats_table_counts_versions(small_corpus: Path) -> None:
    code, text = run(["stats", "--corpus", str(small_corpus), "--sources", "federal_rules"])
    assert code == 0
    row = next(line for line in text.splitlines() if line.startswith("federal_rules"))
    files, documents, versions = (int(x) for x in row.split()[1:4])
    assert documents == 1 and versions >= 3 and files >= 1
    assert "versions by label:" in text


def test_unknown_source_is_a_usage_error(small_corpus: Path) -> None:
    assert run(["stats", "--corpus", str(small_corpus), "--sources", "nope"])[0] == 2
    assert run(["stats", "--corpus", str(small_corpus / "missing")])[0] == 2


def test_show_prints_pinpoints_with_citations(small_corpus: Path) -> None:
    code, text = run(["show", "aila:C1", "--corpus", str(small_corpus)])
    assert code == 0
    lines = text.splitlines()
    assert lines[0] == "aila:C1 — Masud Khan v State Of Uttar Pradesh"
    assert "decided:      1973-09-26" in lines
    i = lines.index("Masud Khan v State Of Uttar Pradesh, ¶ 1")
    assert lines[i + 1].startswith("    Petitioner Masud Khan prays")


@pytest.mark.skipif(not HAS_RULES, reason="the Federal Rules adapter is not in this checkout")
def test_show_as_of_picks_the_version_in_force(small_corpus: Path) -> None:
    code, before = run(["show", "fre:702", "--as-of", "2023-06-01", "--corpus", str(small_corpus)])
    assert code == 0
    code, after = run(["show", "fre:702", "--as-of", "2024-01-01", "--corpus", str(small_corpus)])
    assert code == 0
    assert before != after
    assert "[2023-12-01 – …)" in after.splitlines()[3]
    # children are indented under their parents, their text one level deeper
    lines = after.splitlines()
    i = lines.index("    Fed. R. Evid. 702(b)")
    assert lines[i + 1] == "        the testimony is based on sufficient facts or data;"
    assert "Fed. R. Evid. 702 — Testimony by Expert Witnesses" in lines


def test_show_errors(small_corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["show", "aila:C999", "--corpus", str(small_corpus)])[0] == 1
    assert "no document 'aila:C999'" in capsys.readouterr().err
    assert (
        run(["show", "cap:4531970", "--as-of", "1979-01-01", "--corpus", str(small_corpus)])[0] == 1
    )
    assert "no version of cap:4531970 in force on 1979-01-01" in capsys.readouterr().err
    assert run(["show", "zzz:1", "--corpus", str(small_corpus)])[0] == 1
    assert "unknown document namespace" in capsys.readouterr().err
    assert run(["show", "aila:C1", "--as-of", "June 2020", "--corpus", str(small_corpus)])[0] == 2


def test_bench_writes_json_and_markdown(small_corpus: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "bench"
    code, text = run(
        [
            "bench",
            "--corpus",
            str(small_corpus),
            "--out",
            str(out_dir),
            "--sources",
            "aila/statutes",
        ]
    )
    assert code == 0
    result = json.loads((out_dir / "legal_corpus.json").read_text())["results"][0]
    assert result["source"] == "aila/statutes"
    assert result["documents"] == 2 and result["units"] == 2
    assert result["documents_per_s"] > 0 and result["peak_rss_mb"] > 10
    assert "| aila/statutes | 2 | 2 |" in (out_dir / "legal_corpus.md").read_text()
    assert "| aila/statutes |" in text


def test_module_entry_point_exit_status(small_corpus: Path, tmp_path: Path) -> None:
    """`python -m legal_corpus stats` exits 1 and names the file when one is unreadable."""
    broken = tmp_path / "corpus"
    (broken / "opinions" / "cap_json").mkdir(parents=True)
    (broken / "opinions" / "cap_json" / "case_6.json").symlink_to(
        small_corpus / "opinions/cap_json/case_6.json"
    )
    (broken / "opinions" / "cap_json" / "case_9.json").write_text('{"id": 9, "casebody": ')
    env = {**os.environ, "JURIS_CORPUS_DIR": str(broken)}
    proc = subprocess.run(
        [sys.executable, "-m", "legal_corpus", "stats", "--sources", "opinions/cap"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 1
    assert "case_9.json (line 1, column 23): invalid JSON" in proc.stdout
    assert "opinions/cap" in proc.stdout and "1 file(s) skipped" in proc.stderr


def test_stats_lists_documents_parsed_with_warnings(corpus_dir: Path, tmp_path: Path) -> None:
    lines = (corpus_dir / "aila/casedocs/C1.txt").read_text(encoding="utf-8").split("\n")
    del lines[3]  # the decision date
    (tmp_path / "aila/casedocs").mkdir(parents=True)
    (tmp_path / "aila/casedocs/C1.txt").write_text("\n".join(lines), encoding="utf-8")
    (tmp_path / "aila/casedocs/C2.txt").symlink_to(corpus_dir / "aila/casedocs/C2.txt")
    code, text = run(["stats", "--corpus", str(tmp_path), "--sources", "aila/casedocs"])
    assert code == 0
    assert "parsed with warnings" in text and "aila:C1@AILA 2019" in text
    assert "aila:C2@" not in text
    code, shown = run(["show", "aila:C1", "--corpus", str(tmp_path)])
    assert "warnings:     no decision date in the header" in shown
