"""The answer format shared by the gateway's prompt, its verifier and training's RAFT data.

One definition, imported by `serving.prompt`, `serving.verify`, `serving.generators.extractive`
and `training` (RAFT rows), so the format the model is fine-tuned on is the format the gateway
asks for and checks:

- a claim is followed by the number of the source it rests on: `[n]` (1-based, in the order the
  sources were given); several sources: `[1][3]`;
- the operative words of a source are quoted verbatim between `##begin_quote##` and
  `##end_quote##`; a quote belongs to the first `[n]` that follows it in the same sentence
  (or, when none follows, the last one before it);
- when none of the sources answers the question, the answer says so and cites nothing
  (`NOT_ANSWERED`, the sentence RAFT rows teach; `says_not_answered` reads it, or the same in
  a model's own words).

Example::

    Fair use is not an infringement: ##begin_quote##the fair use of a copyrighted work ... is not
    an infringement of copyright##end_quote## [1].
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from indexing.text import SentenceRule, sentence_spans, without_line_labels

QUOTE_BEGIN = "##begin_quote##"
QUOTE_END = "##end_quote##"
CITE_PATTERN = re.compile(r"\[(\d{1,3})\]")
QUOTE_PATTERN = re.compile(re.escape(QUOTE_BEGIN) + r"(.*?)" + re.escape(QUOTE_END), re.DOTALL)
# What a model says when none of its sources answers the question: training's RAFT rows whose
# oracle passage was left out teach it (`training.raft`), and the gateway marks an answer that
# says so, citing nothing, as not answered (`says_not_answered`).
NOT_ANSWERED = (
    "The sources given do not answer this question: none of them addresses it, so I cannot "
    "answer it from them."
)
# the trained sentence, and the ways an instruct model told "if the sources do not answer the
# question, say so" (the system prompt) says it
_NOT_ANSWERED_WORDS = re.compile(
    r"sources given do not answer|\b(?:do|does) not (?:answer|address)\b|\bcannot answer\b"
    r"|\bnot addressed\b",
    re.IGNORECASE,
)
# An answer's sentence ends at . ! ? (with the `[n]` markers after it) before whitespace or the
# end, or at a blank line; abbreviations common in legal citations (U.S.C., Fed. R. Civ. P.,
# Art., N.J. Super.) do not end one, nor does a reporter's abbreviation after a citation's
# volume ("In D.G. v. K.S. (444 N.J. Super. 423, ¶ 8), the court stated"). Quoted spans are
# protected (`sentences`).
_ABBREVIATIONS = re.compile(
    r"(?:\b(?:U\.S\.C|U\.S|Fed|R|Civ|Crim|Evid|App|Bankr|P|Art|Arts|No|Nos|v|Inc|Co|Corp|"
    r"Cir|Ct|Supp|Super|F|Stat|Pub|L|e\.g|i\.e|cf|Id|id|para|et al|seq|Reg|Dist|St|Mr|Ms|Dr|Jr)"
    r"|\b[A-Z])\.$"
)


# a reporter citation's volume and abbreviations: "(444 N.J. Super.", "(12 So."
_OPEN_CITATION = re.compile(r"\(\d{1,4} [^()\[\]]{0,19}[A-Za-z]\.$")


def _no_sentence_end(through_stop: str) -> bool:
    """True when the full stop ending `through_stop` (a sentence so far) ends no sentence."""
    if not through_stop.endswith("."):
        return False
    return bool(_ABBREVIATIONS.search(through_stop) or _OPEN_CITATION.search(through_stop))


ANSWER_SENTENCES = SentenceRule(
    re.compile(r"(?P<stop>[.!?])(?:\s*\[\d{1,3}\])*(?=\s+|$)|\n\s*\n"), _no_sentence_end
)


@dataclass(frozen=True, slots=True)
class Marker:
    """A `[n]` source marker in an answer: its number and its offsets."""

    n: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Quote:
    """A `##begin_quote##…##end_quote##` span: the quoted text and the span's offsets."""

    text: str
    start: int
    end: int


def quote(text: str) -> str:
    """`text` wrapped in the quote markers."""
    return f"{QUOTE_BEGIN}{text}{QUOTE_END}"


def cite(n: int) -> str:
    """The marker for source `n` (1-based)."""
    return f"[{n}]"


def markers(answer: str) -> list[Marker]:
    """Every `[n]` in `answer`, in order."""
    return [Marker(int(m.group(1)), m.start(), m.end()) for m in CITE_PATTERN.finditer(answer)]


def quotes(answer: str) -> list[Quote]:
    """Every quoted span in `answer`, in order (an unterminated quote is ignored)."""
    return [Quote(m.group(1), m.start(), m.end()) for m in QUOTE_PATTERN.finditer(answer)]


def says_not_answered(answer: str) -> bool:
    """Whether `answer` cites no source and says that the sources do not answer (a model's own
    abstention: `NOT_ANSWERED`, or the same in its words)."""
    if markers(answer) or quotes(answer):
        return False
    return bool(_NOT_ANSWERED_WORDS.search(answer))


def render(answer: str) -> str:
    """The answer for display: quote markers become typographic quotes (“…”)."""
    return answer.replace(QUOTE_BEGIN, "\u201c").replace(QUOTE_END, "\u201d")


def normalize_ws(text: str) -> str:
    """Whitespace runs collapsed to one space, ends stripped (quotes compare on this)."""
    return " ".join(text.split())


def quoted_in(quote: str, source: str) -> bool:
    """Whether `quote` is verbatim in a passage's `source` text, whitespace aside — with or
    without the subdivision labels the passage prints at the start of its lines (a quote
    that runs from a list's opening words into its first item, "shall include— the
    purpose and character of the use", is the law's text as much as one that keeps the
    "(1)")."""
    wanted = normalize_ws(quote)
    return wanted in normalize_ws(source) or wanted in normalize_ws(without_line_labels(source))


def sentences(answer: str, whole: Sequence[str] = ()) -> list[tuple[int, int]]:
    """Sentence spans `(start, end)` of `answer`; quoted spans never split a sentence, nor do
    the strings `whole` where the answer writes them.

    Args:
        answer: the answer text in this format.
        whole: text no sentence ends inside, such as the citations and case names of the
            sources given (`State of Haryana and Others v Charanjit Singh and Others., Etc.`).

    Returns:
        Offsets of each non-empty sentence, in order.
    """
    protected = [(q.start, q.end) for q in quotes(answer)]
    for text in dict.fromkeys(t for t in whole if t):
        protected += [(m.start(), m.end()) for m in re.finditer(re.escape(text), answer)]
    return sentence_spans(answer, ANSWER_SENTENCES, protected)


def constrain_citations_regex(n_sources: int) -> str:
    """A regular expression an answer matches when its `[n]` markers only name sources 1..n.

    Used as a structured-output constraint (vLLM `structured_outputs.regex`): `[` may only open
    a marker for a source that was given.

    Args:
        n_sources: how many sources the prompt gave.

    Returns:
        The regular expression.
    """
    numbers = "|".join(str(i) for i in range(n_sources, 0, -1)) or "1"
    return r"(?:[^\[\]]|\[(?:" + numbers + r")\])*"


def training_answer(parts: Sequence[tuple[str, str, int]]) -> str:
    """An answer in this format from `(lead-in, quoted words, source number)` triples.

    Training's RAFT rows and the extractive backend build answers with it, so both use the
    same markup: `lead-in ##begin_quote##words##end_quote## [n].`

    Args:
        parts: for each claim, the words before the quote, the verbatim quote and the source.

    Returns:
        The answer text, one claim per sentence.
    """
    out = []
    for lead, words, n in parts:
        lead = lead.strip()
        body = f"{lead} {quote(words)} {cite(n)}" if lead else f"{quote(words)} {cite(n)}"
        out.append(body.rstrip(".") + ".")
    return " ".join(out)
