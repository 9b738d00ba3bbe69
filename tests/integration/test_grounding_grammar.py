"""The grounded-answer grammar as vLLM's llguidance backend reads it, over the real model's
tokenizer: the trained format with a source's own number, citation and words passes; another
number, words the source lacks, a label for a quote, a quote opening on a comma or on the rest of
a label, or a decline do not; by default only the first source may be cited, and a merged
passage's subdivisions only with words of their own."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from indexing.model import Passage
from serving import answer_format as fmt
from serving.grounding import answer_grammar
from serving.lab.vllm_process import VLLM_PYTHON
from serving.prompt import build_messages

pytestmark = pytest.mark.integration

# run in vLLM's environment, which has llguidance: is each answer a whole sentence of the grammar?
MATCH = """
import json, sys
import llguidance, llguidance.hf
from transformers import AutoTokenizer
job = json.load(sys.stdin)
tok = AutoTokenizer.from_pretrained(job["tokenizer"])
ll = llguidance.hf.from_tokenizer(tok)
grammar = llguidance.LLMatcher.grammar_from_lark(job["grammar"])
out = []
for answer in job["answers"]:
    m = llguidance.LLMatcher(ll, grammar)
    assert not m.get_error(), m.get_error()
    ok = m.consume_tokens(tok.encode(answer, add_special_tokens=False))
    out.append(bool(ok and m.is_accepting()))
print(json.dumps(out))
"""


def accepted(model_dir: Path, grammar: str, answers: list[str]) -> list[bool]:
    if not VLLM_PYTHON.is_file():
        pytest.skip(f"vLLM environment missing at {VLLM_PYTHON} (run `make setup-vllm`)")
    job = json.dumps({"tokenizer": str(model_dir), "grammar": grammar, "answers": answers})
    run = subprocess.run(
        [str(VLLM_PYTHON), "-c", MATCH], input=job, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_only_a_sources_own_number_citation_and_words_pass(real_model_dir, slice_retriever):
    passages = slice_retriever.search("fair use of a copyrighted work for teaching", 3)
    prompt = build_messages("Is teaching a fair use?", passages, max_chars_per_source=700)
    grammar = answer_grammar(passages, prompt.shown, source="any")
    assert grammar is not None
    c = passages[1].chunk
    words = prompt.shown[1].split()[:8]
    other = next(w for w in ("unicorn", "zebra") if w not in prompt.shown[1])

    def answer(n: int, quote: list[str], title: str = f" ({c.title})") -> str:
        return (
            f"{c.citation} [{n}] governs this question{title}. It provides: "
            f"{fmt.QUOTE_BEGIN}{' '.join(quote)}{fmt.QUOTE_END} [{n}]."
        )

    verdicts = accepted(
        real_model_dir,
        grammar,
        [
            answer(2, words),
            answer(2, words, title=""),
            answer(1, words) if passages[0].chunk.citation != c.citation else answer(4, words),
            answer(2, [*words[:4], other, *words[5:]]),
            answer(2, words[:2]),
            fmt.NOT_ANSWERED,
        ],
    )
    assert verdicts == [True, True, False, False, False, False]


def test_the_default_grammar_cites_the_first_source_from_a_whole_word(
    real_model_dir, slice_retriever
):
    passages = slice_retriever.search("fair use of a copyrighted work for teaching", 3)
    prompt = build_messages("Is teaching a fair use?", passages, max_chars_per_source=700)
    grammar = answer_grammar(passages, prompt.shown)
    assert grammar is not None
    words = prompt.shown[0].split()
    labelled = next(i for i, w in enumerate(words) if w.startswith("(") and w.endswith(")"))
    comma = next(i for i, w in enumerate(words) if w.endswith(","))

    def answer(n: int, quote: str) -> str:
        c = passages[n - 1].chunk
        return (
            f"{c.citation} [{n}] governs this question. It provides: "
            f"{fmt.QUOTE_BEGIN}{quote}{fmt.QUOTE_END} [{n}]."
        )

    verdicts = accepted(
        real_model_dir,
        grammar,
        [
            answer(1, " ".join(words[:6])),
            answer(1, " ".join(words[labelled : labelled + 6])),
            answer(1, " ".join([words[labelled][1:], *words[labelled + 1 : labelled + 6]])),
            answer(1, ", " + " ".join(words[comma + 1 : comma + 6])),
            answer(2, " ".join(prompt.shown[1].split()[:6])),
        ],
    )
    assert verdicts == [True, True, False, False, False]


def test_a_merged_passages_subdivisions_quote_only_their_own_words(real_model_dir, slice_retriever):
    chunk = slice_retriever.search("fair use of a copyrighted work for teaching", 1)[0].chunk
    merged = dataclasses.replace(
        chunk,
        citation=f"{chunk.doc_citation}(a)–(b)",
        pinpoint="(a)–(b)",
        pinpoints=("(a)", "(b)"),
        title="",
    )
    text = (
        "(a) A party may move for summary judgment at any time until the close of discovery. "
        "(b) The court should state on the record the reasons for granting or denying it."
    )
    grammar = answer_grammar([Passage(merged, 1.0)], [text])
    assert grammar is not None

    def answer(citation: str, quote: str) -> str:
        return (
            f"{citation} [1] governs this question. It provides: "
            f"{fmt.QUOTE_BEGIN}{quote}{fmt.QUOTE_END} [1]."
        )

    span, first = merged.citation, f"{chunk.doc_citation}(a)"
    verdicts = accepted(
        real_model_dir,
        grammar,
        [
            answer(first, "A party may move for summary judgment"),
            answer(span, "The court should state on the record"),
            answer(span, "close of discovery. (b) The court should"),
            answer(first, "The court should state on the record"),
            answer(first, "close of discovery. (b) The court should"),
        ],
    )
    assert verdicts == [True, True, True, False, False]

    # a passage printed as the corpus prints it, a subdivision a line: each may be cited
    lined = dataclasses.replace(merged, text=text.replace(" (b) ", "\n(b) "))
    shown = " ".join(lined.text.split())
    second = f"{chunk.doc_citation}(b)"
    verdicts = accepted(
        real_model_dir,
        answer_grammar([Passage(lined, 1.0)], [shown]) or "",
        [
            answer(second, "The court should state on the record"),
            answer(first, "A party may move for summary judgment"),
            answer(second, "A party may move for summary judgment"),
            answer(second, "close of discovery. (b) The court should"),
        ],
    )
    assert verdicts == [True, True, False, False]

    # a question pointing to (b): (b) alone, with its words; neither the span nor (a)
    asked = "Must the court state on the record its reasons for granting summary judgment?"
    verdicts = accepted(
        real_model_dir,
        answer_grammar([Passage(lined, 1.0)], [shown], question=asked) or "",
        [
            answer(second, "The court should state on the record"),
            answer(first, "A party may move for summary judgment"),
            answer(merged.citation, "The court should state on the record"),
        ],
    )
    assert verdicts == [True, False, False]


def test_a_sections_opening_words_are_quoted_from_where_a_sentence_opens(
    real_model_dir, slice_retriever
):
    chunk = slice_retriever.search("fair use of a copyrighted work for teaching", 1)[0].chunk
    opening = (
        "Notwithstanding section 106, the fair use of a work (including copies for classroom "
        "use), is not an infringement of copyright. The factors shall include—"
    )
    text = f"{opening}\n(1) the purpose and character of the use;\n(2) the nature of the work."
    section = dataclasses.replace(
        chunk, citation="17 U.S.C. § 107", pinpoint="", pinpoints=("", "(1)", "(2)"), text=text,
        title="",
    )  # fmt: skip
    shown = " ".join(text.split())
    asked = "When is the fair use of a work not an infringement of copyright?"
    grammar = answer_grammar([Passage(section, 1.0)], [shown], question=asked)
    assert grammar is not None

    def answer(quote: str, citation: str = "17 U.S.C. § 107") -> str:
        return (
            f"{citation} [1] governs this question. It provides: "
            f"{fmt.QUOTE_BEGIN}{quote}{fmt.QUOTE_END} [1]."
        )

    verdicts = accepted(
        real_model_dir,
        grammar,
        [
            answer("Notwithstanding section 106, the fair use of a work (including copies"),
            answer("The factors shall include—"),
            answer("(including copies for classroom use), is not"),
            answer("the fair use of a work"),
            answer("(1) the purpose and character", "17 U.S.C. § 107(1)"),
        ],
    )
    assert verdicts == [True, True, False, False, False]
