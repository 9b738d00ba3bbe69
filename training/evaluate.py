"""Before/after evaluation of an adapter on the held-out RAFT split, through vLLM's API.

For each eval row the system and user messages (exactly the gateway's prompt) go to the
OpenAI-compatible server twice: to the base model name and to the adapter's name. Each answer is
checked by the gateway's own verifier (`serving.verify.Verifier`) against the row's numbered
sources, and scored:

- `cites_oracle`: rows with the oracle where an `[n]` naming the oracle is verified;
- `verbatim_quotes`: rows with the oracle whose answer quotes, and every quote is verbatim;
- `all_verified`: rows with the oracle whose every citation verifies and every claim is cited;
- `correct_abstention`: rows without the oracle whose answer cites nothing and says the sources
  do not answer.

    python -m training eval --data var/raft/eval.jsonl --vllm-url http://127.0.0.1:8000 \
        --base-model base --adapter-model legal --out var/eval/training.json
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexing.model import Passage
from serving import answer_format as fmt
from serving.verify import Verifier
from training.jsonl import json_lines
from training.raft import passages_of
from training.retrieval import MemoryRetriever

log = logging.getLogger(__name__)


@dataclass
class Score:
    """Counts for one model; rates are derived."""

    oracle_rows: int = 0
    abstain_rows: int = 0
    cites_oracle: int = 0
    verbatim_quotes: int = 0
    all_verified: int = 0
    correct_abstention: int = 0
    errors: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def rates(self) -> dict[str, float | None]:
        """Each metric as a fraction of the rows it applies to."""

        def rate(n: int, d: int) -> float | None:
            return round(n / d, 4) if d else None

        return {
            "cites_oracle": rate(self.cites_oracle, self.oracle_rows),
            "verbatim_quotes": rate(self.verbatim_quotes, self.oracle_rows),
            "all_verified": rate(self.all_verified, self.oracle_rows),
            "correct_abstention": rate(self.correct_abstention, self.abstain_rows),
        }


def score_answer(
    score: Score,
    verifier: Verifier,
    answer: str,
    passages: Sequence[Passage],
    oracle_n: int | None,
) -> dict[str, Any]:
    """Verify one answer and add it to `score`.

    Args:
        score: the model's running counts.
        verifier: the gateway's verifier.
        answer: the model's raw answer.
        passages: the row's sources (source n = passages[n-1]).
        oracle_n: the oracle's number, None when the row left it out.

    Returns:
        This answer's verdicts.
    """
    verdict: dict[str, Any] = {}
    if oracle_n is None:
        score.abstain_rows += 1
        ok = fmt.says_not_answered(answer)
        score.correct_abstention += ok
        verdict["correct_abstention"] = ok
        return verdict
    score.oracle_rows += 1
    report = verifier.verify(answer, passages)
    markers = [c for c in report.citations if c.kind == "source"]
    cites = any(c.n == oracle_n and c.status == "verified" for c in markers)
    quoted = [c for c in markers if c.quote]
    verbatim = bool(fmt.quotes(answer)) and all(c.status != "misquoted" for c in markers)
    verified = bool(markers) and report.all_verified
    score.cites_oracle += cites
    score.verbatim_quotes += verbatim
    score.all_verified += verified
    verdict.update(
        cites_oracle=cites,
        verbatim_quotes=verbatim,
        all_verified=verified,
        statuses=report.by_status,
        quotes=len(quoted),
    )
    return verdict


Generate = Callable[[str, list[dict[str, str]]], str]


def vllm_generate(base_url: str, max_tokens: int = 256, timeout: float = 120.0) -> Generate:
    """A function (model, messages) -> answer over an OpenAI-compatible chat API, greedy.

    Args:
        base_url: server root (`http://127.0.0.1:8000`; `/v1` is added when missing).
        max_tokens: answer length limit.
        timeout: seconds per request.

    Returns:
        The generate function.
    """
    import httpx

    root = base_url.rstrip("/")
    url = (root if root.endswith("/v1") else root + "/v1") + "/chat/completions"
    client = httpx.Client(timeout=timeout)

    def generate(model: str, messages: list[dict[str, str]]) -> str:
        body = {"model": model, "messages": messages, "max_tokens": max_tokens, "temperature": 0}
        resp = client.post(url, json=body)
        if resp.status_code != 200:
            raise RuntimeError(f"{model}: HTTP {resp.status_code}: {resp.text[:300]}")
        return str(resp.json()["choices"][0]["message"]["content"] or "")

    return generate


def read_eval_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a RAFT JSONL file that carry their sources (`meta.sources`).

    Args:
        path: `eval.jsonl` from `python -m training raft-data`.

    Returns:
        The rows.

    Raises:
        ValueError: a line that is not JSON or lacks `meta.sources`, naming file and line.
    """
    rows = []
    for n, row in json_lines(path):
        if not isinstance(row, dict) or not row.get("meta", {}).get("sources"):
            raise ValueError(f"{path}:{n}: row has no meta.sources (not a RAFT row)")
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def evaluate(
    rows: Sequence[dict[str, Any]],
    generate: Generate,
    models: Sequence[str],
    parse_citations: Callable[[str], Sequence[Any]] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Ask every model every row and score the answers with the gateway's verifier.

    Args:
        rows: RAFT rows (`read_eval_rows`).
        generate: (model, messages) -> answer.
        models: model names, e.g. `["base", "legal"]`.
        parse_citations: legal citation parser (default: `legal_corpus.citations`).
        progress: show a progress bar.

    Returns:
        `{"rows": N, "models": {name: {rates…, counts…}}, "examples": […]}`.
    """
    from tqdm import tqdm

    if parse_citations is None:
        from legal_corpus.citations import parse_citations as default_parser

        parse_citations = default_parser
    all_chunks = {c.chunk.chunk_id: c.chunk for r in rows for c in passages_of(r)}
    verifier = Verifier(MemoryRetriever(all_chunks.values()), parse_citations)
    scores = {m: Score() for m in models}
    examples: list[dict[str, Any]] = []
    for row in tqdm(rows, desc="eval", disable=not progress, unit="row"):
        passages = passages_of(row)
        oracle_n = row["meta"].get("oracle_n")
        prompt = [m for m in row["messages"] if m["role"] != "assistant"]
        example: dict[str, Any] = {"oracle_n": oracle_n, "answers": {}}
        for model in models:
            try:
                answer = generate(model, prompt)
            except Exception as err:
                log.warning("%s failed: %s", model, err)
                scores[model].errors += 1
                continue
            verdict = score_answer(scores[model], verifier, answer, passages, oracle_n)
            example["answers"][model] = {"answer": answer, **verdict}
        if len(examples) < 20:
            examples.append(example)
    return {
        "rows": len(rows),
        "models": {
            m: {
                **s.rates(),
                "oracle_rows": s.oracle_rows,
                "abstain_rows": s.abstain_rows,
                "errors": s.errors,
            }
            for m, s in scores.items()
        },
        "examples": examples,
    }
