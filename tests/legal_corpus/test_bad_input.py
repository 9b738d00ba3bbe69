"""Bad source files, made from real ones: named in the error, skipped, the batch goes on."""

from __future__ import annotations

import importlib.util
import io
import json
import random
import shutil
from pathlib import Path

import pytest

from legal_corpus.adapters import IngestReport, ParseError, iter_documents
from legal_corpus.cli import main

pytestmark = pytest.mark.unit


def _copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def _write(dst: Path, data: bytes) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data)
    return dst


@pytest.fixture(scope="module")
def bad_corpus(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A corpus folder of good files and one bad file of each kind, all from real files."""
    root = tmp_path_factory.mktemp("bad_corpus")
    real = corpus_dir
    rng = random.Random(7)
    ca1 = (real / "opinions/pdf/ca1-12-2209.pdf").read_bytes()
    opinion = (real / "opinions/text/opinion_text.txt").read_text(encoding="utf-8")
    case3 = (real / "opinions/cap_json/case_3.json").read_text(encoding="utf-8")
    _copy(real / "opinions/pdf/ca8-17-2543.pdf", root / "opinions/pdf/ca8-17-2543.pdf")
    _copy(real / "opinions/text/opinion_text.txt", root / "opinions/text/opinion_text.txt")
    _copy(real / "opinions/cap_json/case_2.json", root / "opinions/cap_json/case_2.json")
    _copy(real / "aila/casedocs/C1.txt", root / "aila/casedocs/C1.txt")
    bad = {
        "truncated_pdf": _write(root / "opinions/pdf/ca1-truncated.pdf", ca1[: len(ca1) * 3 // 5]),
        "utf16_no_bom": _write(root / "opinions/text/utf16.txt", opinion.encode("utf-16-le")),
        "random_bytes": _write(root / "opinions/text/random.txt", rng.randbytes(5000)),
        "unknown_ext": _write(root / "opinions/text/opinion.rtf", opinion.encode()),
        "invalid_json": _write(
            root / "opinions/cap_json/case_3.json", case3[: len(case3) // 2].encode()
        ),
        "undecodable": _write(
            root / "aila/casedocs/C2.txt", bytes(rng.randrange(0x80, 0x100) for _ in range(4000))
        ),
    }
    if importlib.util.find_spec("legal_corpus.adapters.uscode") is not None:
        usc = (real / "uscode/2022/usc09.xml").read_bytes()
        bad["malformed_xml"] = _write(root / "uscode/2022/usc09.xml", usc[: len(usc) // 2])
    return bad


@pytest.fixture(scope="module")
def batch(bad_corpus: dict[str, Path]) -> tuple[list[str], IngestReport]:
    root = bad_corpus["invalid_json"].parents[2]
    report = IngestReport()
    ids = [doc.doc_id for doc in iter_documents(root, report=report)]
    return ids, report


def _error_for(report: IngestReport, path: Path) -> ParseError:
    found = [e for e in report.errors if e.path == str(path)]
    assert len(found) == 1, f"expected one error for {path}, got {report.summary()}"
    return found[0]


def test_good_files_of_the_batch_are_parsed(batch: tuple[list[str], IngestReport]) -> None:
    ids, _ = batch
    for doc_id in ("ruling:ca8-17-2543", "ruling:opinion_text", "cap:9248666", "aila:C1"):
        assert doc_id in ids


@pytest.mark.parametrize(
    ("kind", "message", "where"),
    [
        ("truncated_pdf", "truncated PDF", "end of file"),
        ("utf16_no_bom", "NUL bytes", "line 1"),
        ("random_bytes", "", "line "),
        ("unknown_ext", "unsupported file type '.rtf'", ""),
        ("invalid_json", "invalid JSON", "line "),
        ("undecodable", "not UTF-8 text", "line 1"),
        ("malformed_xml", "malformed XML", "line "),
    ],
)
def test_each_bad_file_is_named_and_skipped(
    bad_corpus: dict[str, Path],
    batch: tuple[list[str], IngestReport],
    kind: str,
    message: str,
    where: str,
) -> None:
    if kind not in bad_corpus:
        pytest.skip("the US Code adapter is not in this checkout")
    _, report = batch
    err = _error_for(report, bad_corpus[kind])
    assert message in err.message
    assert err.where.startswith(where)
    assert str(bad_corpus[kind]) in str(err)


def test_no_bad_file_becomes_a_document(
    bad_corpus: dict[str, Path], batch: tuple[list[str], IngestReport]
) -> None:
    ids, report = batch
    assert "ruling:ca1-truncated" not in ids
    assert "ruling:utf16" not in ids and "ruling:random" not in ids
    assert "aila:C2" not in ids
    assert not report.ok
    assert f"{len(bad_corpus)} file(s) skipped" in report.summary()


def test_cli_stats_ends_with_a_summary_and_non_zero_exit(
    bad_corpus: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = bad_corpus["invalid_json"].parents[2]
    out = io.StringIO()
    assert main(["stats", "--corpus", str(root), "--json"], out=out) == 1
    payload = json.loads(out.getvalue())
    assert payload["ok"] is False
    assert {e["path"] for e in payload["errors"]} == {str(p) for p in bad_corpus.values()}
    assert payload["sources"]["opinions/rulings"]["documents"] == 2
    assert "file(s) skipped" in capsys.readouterr().err


def test_truncated_json_error_gives_line_and_column(bad_corpus: dict[str, Path]) -> None:
    from legal_corpus.adapters.cap_json import parse_cap_case

    with pytest.raises(ParseError) as err:
        parse_cap_case(bad_corpus["invalid_json"])
    assert err.value.where.startswith("line ") and ", column " in err.value.where
