"""Grounded answers: a grammar that lets a model write only what the verifier will verify.

A small model trained on the answer format (`training.raft`) writes it faithfully but pairs a
provision with the wrong source number and quotes words no source holds ("17 U.S.C. § 302(b)
[4] governs …" where source 4 is § 1201): over the lawyers' questions most of the `legal`
adapter's answers are set aside for the quoted passages (serving/README.md, "Degraded mode").
The gateway can instead ask vLLM to decode under a grammar (structured output, the llguidance
backend's Lark syntax) whose every sentence is one of the sources' own:

    <citation of source n> [n] governs this question[ (<title of source n>)]. It provides:
    ##begin_quote##<words of source n, whole words, as the prompt shows them>##end_quote## [n].

The model chooses where its quote begins and where it ends; it can no longer give a source
another number, cite it at a pinpoint it does not hold, or quote words it does not contain.
The verifier checks the answer as it checks any other.

Which subdivision: a passage may hold several (`Fed. R. Evid. 201(e)–(f)`). Where the
question's words point to one of them (`pointed_claim`: the subdivision holding the most of
them, or the words opening the passage before its first subdivision, quoted from where one of
their sentences opens), the answer cites that one with its words: "Must a jury accept a
judicially noticed fact as conclusive?" cites 201(f), not the span. Otherwise the model chooses
among the whole passage and each of its subdivisions. Left to choose, the bundled model cited
the whole span where it held the governing subdivision in 24 of 45 such answers
(serving/README.md, "Which subdivision an answer cites").

Which source: by default the first one, the passage retrieval ranks first. Given the choice
(`source="any"`, `JURIS_VLLM_GROUNDED_SOURCE=any`), the 135M models chose the governing
provision in 37 (base) and 39 (`legal`) of 86 of the lawyers' questions, where retrieval ranks
it first in 70. They lean to the source printed last, nearest the question (the base model
chose source 6 in 39 of 88); printing the sources best-last moved the lean, not the choice (39
of 88). A larger model may choose better: measure it with `any`.

The grammar has no decline. Decoding picks the likeliest token the grammar allows, one at a
time: a model whose answer would begin "The answer to …" or "[1] …" (not allowed) was pushed
onto the likeliest allowed start, and with the trained decline ("The sources given do not
answer …") among the alternatives, that was the decline, which then read as the model's
judgement (a lab run: the base model "declined" 2 of 4 questions it answers in free text, on
notices of appeal and settlement offers). Whether the sources answer a question is the
relevance signal's call, made before any model is asked (`indexing.relevance`; a model's
decline was already overruled above 0.93).

    >>> grammar = answer_grammar(passages, prompt.shown)
    >>> body["structured_outputs"] = {"grammar": grammar}
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from indexing.exact_citations import fold_pinpoint, span_ends
from indexing.model import Chunk, Passage
from indexing.sparse import stemmed, tokenize
from indexing.text import split_sentences
from serving import answer_format as fmt
from serving.prompt import Prompt
from serving.subdivisions import blocks, lead

# the sentence between a source's citation and its quote, as training writes it
GOVERNS = "governs this question"
PROVIDES = "It provides:"
# the fewest and most words a quote may have: without a floor a model may "quote" a
# subdivision's label, `(1)`; without a ceiling it may copy the whole source and run out of
# tokens before the quote is closed (training quotes 4 to 25 words)
MIN_QUOTE_WORDS = 4
MAX_QUOTE_WORDS = 30
# a quote's first word: a word (not the rest of a label or citation, "1)" of "(1)", "1)(B),"
# of "4(a)(1)(B),"), whole labels ("(1)", "(1)(A)"), a bracketed word ("(including"), or one
# that opens with a bracket, a quotation mark, § or $ — never a bare comma or full stop, which
# llguidance's word boundaries would otherwise allow (", the fair use …")
_FIRST_WORD = r"""(\w+([^ \w)][^ ]*)?|(\(\w{1,6}\))+|\(\w[^ )]*|[\[§¶$“‘"'][^ ]*)"""
# which source a grounded answer may rest on (`JURIS_VLLM_GROUNDED_SOURCE`)
SOURCES = ("first", "any")


def pinpoint_citation(chunk: Chunk, at_start: bool = True) -> str:
    """The citation an answer gives for words of `chunk`: its first pinpoint when they open it.

    A chunk may span several subdivisions (`17 U.S.C. § 507(a)–(b)`); words from its opening
    sentence sit at the first one (`17 U.S.C. § 507(a)`), which a lawyer would cite. Words from
    further in keep the chunk's whole span; opinions keep their paragraph citation.
    """
    pin = chunk.pinpoint
    if not at_start or chunk.kind == "opinion" or not pin.startswith("("):
        return chunk.citation or chunk.doc_citation
    return f"{chunk.doc_citation}{span_ends(pin)[0]}"


def first_subdivision(chunk: Chunk, text: str) -> str:
    """The words of a merged chunk's `text` (as the prompt shows it) that are surely its first
    subdivision's.

    `Fed. R. Civ. P. 60(a)–(b)(4)` holds (a), then (b) and its items; words of (b)(1) cited as
    60(a) would send a lawyer to the wrong subdivision. The chunk's lines say where its first
    subdivision ends (`subdivisions.lead`), and a cross-reference inside it ("as provided by
    subsection (b)") is read as the words it is. Where they cannot (a chunk that prints its
    subdivisions inline), the text is cut before the first label of the next pinpoint outside
    the first one standing as a word (" (b) "): a cross-reference written so then cuts
    sooner, and one written onto a citation ("Rules 4(a)(1)(B), …") does not cut.
    """
    first = span_ends(chunk.pinpoint)[0]
    later = [p for p in chunk.pinpoints if p != first and not p.startswith(f"{first}(")]
    if not first.startswith("(") or not later:
        return text
    words = lead(chunk)
    if words is not None and text.startswith(words[: len(text)]):
        return text[: len(words)]
    label = "(" + later[0].rsplit("(", 1)[1]
    found = re.search(rf"(?<=\s){re.escape(label)}(?=\s|$)", text)
    return text if found is None else text[: found.start()].strip()


def subdivision_claims(chunk: Chunk, text: str) -> list[tuple[str, str]]:
    """The pinpoint citations a grounded answer may give for words of a merged chunk, each with
    the words of `text` (the chunk as the prompt shows it) it may quote.

    Every subdivision the chunk shows (`subdivisions.blocks`): `Fed. R. Civ. P. 60(b)(1)` with
    "(1) mistake, inadvertence, surprise, or excusable neglect;", so an answer can cite the
    subdivision that governs, not only the span or its first pinpoint. Where the chunk's lines
    do not show its subdivisions, its first pinpoint with `first_subdivision`'s words.
    """
    if chunk.kind == "opinion":
        return []
    folded = " ".join(chunk.text.split())
    found = blocks(chunk) if folded.startswith(text) else None
    if found is None:
        first = pinpoint_citation(chunk)
        return [(first, first_subdivision(chunk, text))] if first != chunk.citation else []
    return [
        (f"{chunk.doc_citation}{pinpoint}", text[start:end].strip())
        for pinpoint, start, end in found
        if start < len(text)
    ]


def pointed_claim(chunk: Chunk, text: str, question: str) -> tuple[str, str] | None:
    """The subdivision of a merged passage a question's words point to, as
    `subdivision_claims` gives it: its pinpoint citation and the words it may quote.

    The one that holds the most of the question's terms (as the sparse side reads them:
    stemmed, stopwords out); of several holding as many, the outermost when each lies inside
    the next (its words hold theirs). When the words that open the passage before its first
    subdivision hold more of them than any subdivision does, the passage's own citation with
    those words: "When is the use of a copyrighted work a fair use rather than an
    infringement?" is answered by § 107's opening sentence, not by one of its four factors.
    None — the model chooses — when the passage shows fewer than two subdivisions, none holds
    a term of the question, or the best lie apart ("Who must be joined?" matches (a) and (b)
    of Rule 19 alike).
    """
    claims = subdivision_claims(chunk, text)
    if len(claims) < 2:
        return None
    asked = set(stemmed(tokenize(question)))
    held = [len(asked & set(stemmed(tokenize(words)))) for _, words in claims]
    most = max(held)
    opening = _opening(chunk, text)
    if opening and len(asked & set(stemmed(tokenize(opening)))) > most:
        return chunk.citation or chunk.doc_citation, opening
    if not most:
        return None
    best = [claim for claim, n in zip(claims, held, strict=True) if n == most]
    pins = [fold_pinpoint(citation.removeprefix(chunk.doc_citation)) for citation, _ in best]
    outer = min(pins, key=len)
    if any(pin != outer and not pin.startswith(f"{outer}(") for pin in pins):
        return None
    return best[pins.index(outer)]


def _opening(chunk: Chunk, text: str) -> str:
    """The words of `text` (a merged chunk as the prompt shows it) before its first
    subdivision's label: a section's opening sentence; "" when the chunk opens on a label or
    its lines do not say where its subdivisions stand."""
    found = blocks(chunk) if " ".join(chunk.text.split()).startswith(text) else None
    return text[: found[0][1]].strip() if found else ""


def _sentence_openings(text: str) -> str | None:
    """A Lark regex of the quotes of `text` that open where one of its sentences opens: the
    first `MIN_QUOTE_WORDS` to `MAX_QUOTE_WORDS` words of a sentence, whole words (None for
    a text without a word)."""
    chains = []
    for sentence in split_sentences(text):
        words = [re.sub(r"([\\.+*?()|\[\]{}^$/])", r"\\\1", w) for w in sentence.split()]
        words = words[:MAX_QUOTE_WORDS]
        least = min(MIN_QUOTE_WORDS, len(words))
        if least:
            rest = words[least:]
            chains.append(
                " ".join(words[:least]) + "".join(f"( {w}" for w in rest) + ")?" * len(rest)
            )
    return "/(" + "|".join(chains) + ")/" if chains else None


def _literal(text: str) -> str:
    """A Lark string literal (JSON's escapes are Lark's)."""
    return json.dumps(text, ensure_ascii=False)


def answer_grammar(
    passages: Sequence[Passage], shown: Sequence[str], *, source: str = "first", question: str = ""
) -> str | None:
    """The Lark grammar (llguidance) of a grounded answer over the sources of a prompt.

    Args:
        passages: the sources, in prompt order (source n = passages[n-1]).
        shown: each source's text as the prompt shows it (`Prompt.shown`); only its first
            `len(shown)` passages are sources.
        source: which source the answer rests on (`SOURCES`): "first", the first one
            retrieval ranks (that has words to quote); "any", the model's choice.
        question: the question asked; a merged source whose subdivision it points to
            (`pointed_claim`) may be cited at that subdivision only. Empty: no pointing.

    Returns:
        The grammar: one alternative per source allowed (its citation with a quote of its
        words, or, for a merged chunk, one of its subdivisions with a quote of that
        subdivision's words (`subdivision_claims`), or only the subdivision the question
        points to; its number; optionally its title;
        `MIN_QUOTE_WORDS` to `MAX_QUOTE_WORDS` whole words); None when no source has a word to
        quote.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
    alternatives: list[tuple[str, list[str]]] = []
    for n, (passage, text) in enumerate(zip(passages, shown, strict=False), start=1):
        if source == "first" and alternatives:
            break
        chunk = passage.chunk
        governs = _literal(f" {fmt.cite(n)} {GOVERNS}")
        title = f"({_literal(f' ({chunk.title})')})?" if chunk.title else ""
        middle = f"{governs} {title} {_literal(f'. {PROVIDES} {fmt.QUOTE_BEGIN}')}"
        closing = _literal(f"{fmt.QUOTE_END} {fmt.cite(n)}.")
        # (citation rule, quote lexeme, the words it may quote): the chunk's citation with any
        # of its words; each subdivision of a merged chunk with the words of that subdivision
        claims = [(f"cite{n}", f"QUOTE{n}", chunk.citation or chunk.doc_citation, text)]
        pointed = pointed_claim(chunk, text, question) if question else None
        if pointed is not None:
            claims = [(f"pin{n}_1", f"PINQUOTE{n}_1", *pointed)]
        else:
            for k, (citation, words) in enumerate(subdivision_claims(chunk, text), start=1):
                if citation != claims[0][2]:
                    claims.append((f"pin{n}_{k}", f"PINQUOTE{n}_{k}", citation, words))
        # a passage's opening words, pointed to, are quoted from where a sentence opens: a
        # model trained to open a quote on a bracket would quote a parenthesis of them
        opening = pointed is not None and pointed[1] == _opening(chunk, text)
        rules, bodies = [], []
        for cite, quote, citation, words in claims:
            least = min(MIN_QUOTE_WORDS, len(words.split()))
            if not least:
                continue
            lexeme = _sentence_openings(words) if opening else None
            if lexeme is None:
                pattern = f"/{_FIRST_WORD}( [^ ]+){{{least - 1},{MAX_QUOTE_WORDS - 1}}}/"
                within = json.dumps({"substring_words": words}, ensure_ascii=False)
                lexeme = f"{pattern} & %regex {within}"
            rules += [f"{cite}: {_literal(citation)}", f"{quote}: {lexeme}"]
            bodies.append(f"{cite} {middle} {quote} {closing}")
        if bodies:
            alternatives.append((f"source{n}", [*rules, f"source{n}: " + " | ".join(bodies)]))
    if not alternatives:
        return None
    start = "start: " + " | ".join(name for name, _ in alternatives)
    return "\n".join([start, *(rule for _, rules in alternatives for rule in rules)]) + "\n"


def structured_output(
    passages: Sequence[Passage],
    prompt: Prompt,
    grounded: bool = True,
    source: str = "first",
    question: str = "",
) -> dict[str, str] | None:
    """What a request for an answer to `question` over `prompt` asks vLLM for, as the gateway
    asks it (for measurements that send the same request directly): the grounded grammar,
    else the `[n]` regex; None when the prompt has no sources."""
    if not prompt.n_sources:
        return None
    grammar = (
        answer_grammar(passages, prompt.shown, source=source, question=question)
        if grounded
        else None
    )
    if grammar is not None:
        return {"grammar": grammar}
    return {"regex": fmt.constrain_citations_regex(prompt.n_sources)}
