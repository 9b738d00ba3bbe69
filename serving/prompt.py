"""The prompt: numbered sources with their citations, and the rules of the answer format.

The model sees sources `[1]..[n]` (citation, title, version, text) and is told to answer only
from them, to put `[n]` after each claim and to quote the operative words between the markers of
`serving.answer_format`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from indexing.model import Passage
from serving.answer_format import QUOTE_BEGIN, QUOTE_END

SYSTEM_PROMPT = (
    "You are Juris, a legal research assistant. Answer the question using ONLY the numbered "
    "sources given. After every claim write the number of the source it rests on in brackets, "
    "like [1]. Quote the operative words of a source exactly, between "
    f"{QUOTE_BEGIN} and {QUOTE_END}. Never cite a source that was not given, never invent a "
    "citation, and if the sources do not answer the question, say so."
)

# Closed book: no sources; the model answers from what it learnt (the baseline that retrieval
# and RAFT are measured against). The same answer format, without [n].
CLOSED_BOOK_SYSTEM_PROMPT = (
    "You are Juris, a legal research assistant. Answer the question from your knowledge of the "
    "law. Name the provision that governs it by its citation (for example 17 U.S.C. § 107(a) or "
    "Fed. R. Evid. 702(b)) and quote its operative words exactly, between "
    f"{QUOTE_BEGIN} and {QUOTE_END}. Never invent a citation; if you do not know, say so."
)


CUT_MARK = " … (cut to fit)"


def _shown(passage: Passage, max_chars: int) -> tuple[str, bool]:
    """A passage's text as the prompt shows it (whitespace folded, cut at a word boundary to
    `max_chars`, without `CUT_MARK`), and whether it was cut."""
    text = " ".join(passage.chunk.text.split())
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars].rsplit(" ", 1)[0], True


def _block(n: int, passage: Passage, text: str, cut: bool) -> str:
    c = passage.chunk
    version = f" (version {c.version})" if c.version else ""
    return f"[{n}] {c.citation} — {c.title}{version}\n{text}{CUT_MARK if cut else ''}"


def source_block(n: int, passage: Passage, max_chars: int) -> str:
    """One numbered source as the model sees it.

    Args:
        n: its number (1-based).
        passage: the retrieved passage.
        max_chars: longest text given (cut at a word boundary, marked with `CUT_MARK`).

    Returns:
        `[n] <citation> — <title> (version …)` and the passage text.
    """
    return _block(n, passage, *_shown(passage, max_chars))


@dataclass(frozen=True, slots=True)
class Prompt:
    """Chat messages, how many sources (the first `n_sources` passages) they carry, the
    numbers of the sources whose text was cut to fit the budget, and each source's text as
    shown, without `CUT_MARK` (what a grounded answer may quote, `serving.grounding`)."""

    messages: tuple[dict[str, str], ...]
    n_sources: int
    cut: tuple[int, ...] = ()
    shown: tuple[str, ...] = ()


def build_messages(
    question: str,
    passages: Sequence[Passage],
    *,
    max_chars_per_source: int = 1200,
    max_chars_total: int = 8000,
) -> Prompt:
    """The chat messages for `question` over `passages` (numbered from 1 in the given order).

    Args:
        question: the user's question.
        passages: the sources, best first.
        max_chars_per_source: text budget per source.
        max_chars_total: text budget for all sources (later sources get what is left).

    Returns:
        The prompt: `[{"role": "system", …}, {"role": "user", …}]` in OpenAI chat format and
        the number of sources that fit the budget.
    """
    blocks = []
    cut = []
    shown = []
    left = max_chars_total
    for n, passage in enumerate(passages, start=1):
        budget = min(max_chars_per_source, left)
        if budget < 40:
            break
        text, was_cut = _shown(passage, budget)
        block = _block(n, passage, text, was_cut)
        blocks.append(block)
        shown.append(text)
        if was_cut:
            cut.append(n)
        left -= len(block)
    sources = "\n\n".join(blocks) if blocks else "(no sources were found)"
    user = f"Sources:\n\n{sources}\n\nQuestion: {question.strip()}\n\nAnswer with citations:"
    messages = ({"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user})
    return Prompt(messages, len(blocks), tuple(cut), tuple(shown))


def build_closed_book_messages(question: str) -> Prompt:
    """The chat messages for `question` with no sources (closed book; see the constant above)."""
    user = f"Question: {question.strip()}\n\nAnswer with citations:"
    messages = (
        {"role": "system", "content": CLOSED_BOOK_SYSTEM_PROMPT},
        {"role": "user", "content": user},
    )
    return Prompt(messages, 0)
