"""User-supplied question/answer rows (OpenAI chat JSONL), validated line by line.

Each line is `{"messages": [{"role": "system"?, "content": …}, {"role": "user", …},
{"role": "assistant", …}]}`. A bad line (malformed JSON, a missing role, an empty answer, a
conversation longer than the model's context) is reported with its file and line number and
skipped, or, with `strict=True`, stops the run.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from serving.prompt import SYSTEM_PROMPT

log = logging.getLogger(__name__)

TokenCounter = Callable[[list[dict[str, str]]], int]


class DataError(ValueError):
    """A bad row of a data file, with its file and line number."""

    def __init__(self, path: Path, line: int, reason: str, message: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path}:{line}: {message}")


@dataclass
class UserRows:
    """Valid rows of a user file and what was dropped (reason -> count, and the errors)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    errors: list[DataError] = field(default_factory=list)


def chat_token_counter(model_dir: Path) -> TokenCounter:
    """Counts tokens of a conversation with the model's own chat template.

    Args:
        model_dir: a model directory with a tokenizer and chat template.

    Returns:
        A function messages -> token count.
    """
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(model_dir))

    def count(messages: list[dict[str, str]]) -> int:
        enc: Any = tok.apply_chat_template(messages, tokenize=True, return_dict=True)
        return len(enc["input_ids"])

    return count


def validate_row(obj: Any, path: Path, line: int) -> list[dict[str, str]]:
    """The messages of one parsed line, or a `DataError` saying what is wrong.

    Args:
        obj: the parsed JSON value.
        path: the file (for the message).
        line: the 1-based line number.

    Returns:
        The messages, with the gateway's system prompt added when the row has none.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list):
        raise DataError(path, line, "no messages", 'expected an object with a "messages" list')
    messages: list[dict[str, str]] = []
    for i, m in enumerate(obj["messages"]):
        if not isinstance(m, dict) or "role" not in m:
            raise DataError(path, line, "missing role", f"message {i} has no role")
        if m["role"] not in ("system", "user", "assistant"):
            raise DataError(path, line, "bad role", f"message {i} has role {m['role']!r}")
        if not isinstance(m.get("content"), str):
            raise DataError(path, line, "bad content", f"message {i} has no text content")
        messages.append({"role": m["role"], "content": m["content"]})
    roles = [m["role"] for m in messages]
    if "user" not in roles:
        raise DataError(path, line, "missing role", "no user message")
    if "assistant" not in roles:
        raise DataError(path, line, "missing role", "no assistant message")
    if roles[-1] != "assistant":
        raise DataError(path, line, "bad order", "the last message must be the assistant's")
    if not messages[-1]["content"].strip():
        raise DataError(path, line, "empty answer", "the assistant's answer is empty")
    if roles[0] != "system":
        messages.insert(0, {"role": "system", "content": SYSTEM_PROMPT})
    return messages


def read_user_rows(
    path: Path,
    *,
    max_tokens: int | None = None,
    count_tokens: TokenCounter | None = None,
    strict: bool = False,
) -> UserRows:
    """Read and validate a user chat JSONL file.

    Args:
        path: the file.
        max_tokens: the model's context length; longer conversations are dropped.
        count_tokens: counts a conversation's tokens (`chat_token_counter`); required with
            `max_tokens`.
        strict: raise on the first bad line instead of skipping it.

    Returns:
        The valid rows (`{"messages": …, "meta": {"origin": "user", "source_line": n}}`)
        and the drops.

    Raises:
        DataError: in strict mode, for the first bad line.
        FileNotFoundError: when the file is missing.
    """
    out = UserRows()
    with Path(path).open(encoding="utf-8") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as err:
                    raise DataError(
                        path, line_no, "malformed JSON", f"malformed JSON: {err.msg}"
                    ) from None
                messages = validate_row(obj, path, line_no)
                if max_tokens is not None and count_tokens is not None:
                    n = count_tokens(messages)
                    if n > max_tokens:
                        raise DataError(
                            path, line_no, "longer than the context",
                            f"conversation is {n} tokens, longer than the context ({max_tokens})",
                        )  # fmt: skip
            except DataError as err:
                if strict:
                    raise
                log.warning("skipped %s", err)
                out.errors.append(err)
                out.dropped[err.reason] += 1
                continue
            split = obj.get("split") if obj.get("split") in ("train", "eval") else "train"
            meta = {"origin": "user", "source_line": line_no, "split": split, "oracle_kept": None}
            out.rows.append({"messages": messages, "meta": meta})
    return out
