"""User-supplied chat JSONL: bad lines are named by file and line, skipped or refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training.cli import main
from training.user_data import DataError, chat_token_counter, read_user_rows

pytestmark = pytest.mark.unit

GOOD = {
    "messages": [
        {"role": "user", "content": "What does Fed. R. Evid. 702 require?"},
        {
            "role": "assistant",
            "content": "##begin_quote##the testimony is based on facts##end_quote## [1].",
        },
    ]
}


def _write(path: Path, long_text: str) -> Path:
    ok_q, ok_a = GOOD["messages"]
    lines = [
        json.dumps(GOOD),                                                   # 1 ok
        '{"messages": [{"role": "user", "content": "unterminated"}',       # 2 malformed
        json.dumps({"messages": [{"content": "no role"}, ok_a]}),  # 3 missing role
        json.dumps({"messages": [ok_q, {"role": "assistant", "content": "  "}]}),  # 4
        json.dumps({"messages": [{"role": "user", "content": long_text}, ok_a]}),  # 5
        "",
        json.dumps({**GOOD, "split": "eval"}),                              # 7 ok, eval
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_lines_named_and_skipped(tmp_path: Path, tiny_model_dir: Path) -> None:
    path = _write(tmp_path / "user.jsonl", "evidence " * 3000)
    got = read_user_rows(path, max_tokens=1024, count_tokens=chat_token_counter(tiny_model_dir))
    assert [r["meta"]["source_line"] for r in got.rows] == [1, 7]
    assert got.rows[0]["messages"][0]["role"] == "system"  # the gateway's system prompt added
    assert [r["meta"]["split"] for r in got.rows] == ["train", "eval"]
    assert dict(got.dropped) == {
        "malformed JSON": 1,
        "missing role": 1,
        "empty answer": 1,
        "longer than the context": 1,
    }
    messages = [str(e) for e in got.errors]
    assert messages[0].startswith(f"{path}:2: malformed JSON")
    assert messages[1] == f"{path}:3: message 0 has no role"
    assert messages[2] == f"{path}:4: the assistant's answer is empty"
    assert messages[3].startswith(f"{path}:5: conversation is ")


def test_strict_refuses(tmp_path: Path) -> None:
    path = _write(tmp_path / "user.jsonl", "short")
    with pytest.raises(DataError, match=r"user.jsonl:2: malformed JSON"):
        read_user_rows(path, strict=True)


def test_cli_counts_drops_in_data_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "user.jsonl", "short")
    out = tmp_path / "raft"
    code = main(["raft-data", "--no-corpus", "--user-data", str(path), "--out", str(out)])
    assert code == 1  # rows were dropped: non-zero exit, data written
    card = json.loads((out / "data_card.json").read_text())
    assert card["user_rows"] == 3 and card["user_rows_dropped"] == 3
    assert card["user_data"][str(path)]["dropped"] == {
        "malformed JSON": 1, "missing role": 1, "empty answer": 1,
    }  # fmt: skip
    assert len((out / "train.jsonl").read_text().splitlines()) == 2
    assert (
        main(["raft-data", "--no-corpus", "--strict", "--user-data", str(path), "--out", str(out)])
        == 2
    )
    assert f"{path}:2: malformed JSON" in capsys.readouterr().err
