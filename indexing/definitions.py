"""The terms a passage defines, read from its own words.

Asked "What counts as personal data?", a lawyer wants the provision that defines the term:
GDPR Art. 4(1), "'personal data' means any information relating to an identified or
identifiable natural person". The question shares almost nothing else with it, and every
other GDPR passage says "personal data" too, so neither ranking singles it out. Laws define
their terms in a few fixed forms; this module reads them, so that the learned order
(`indexing.learned_order`, feature `defines`) can weigh a passage that defines what the
question asks about:

    'personal data' means …                        (GDPR Art. 4(1))
    'consent' of the data subject means …           (GDPR Art. 4(11): a few words between)
    the words "person" and "whoever" include …     (1 U.S.C. § 1: several terms at once)
    "original" has the meaning …, "patentee" includes …
    ‘‘Hearsay’’ means …                            (Fed. R. Evid. 801(c): doubled quotes)

Only the forms that say a term is defined are read ("means", "includes", "has the
meaning", "refers to", "is defined"). The form "A 'derivative work' is …" (17 U.S.C. § 101)
is not: "is" follows a quoted phrase in too many sentences that define nothing, and reading
it changed no measured question (eval/README.md).

    >>> defined_terms('the words "person" and "whoever" include corporations')
    ('person', 'whoever')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Set

# a quoted term: straight, curly or single quotes, 2 to 80 characters; the Federal Rules'
# official text doubles single curly quotes (‘‘Hearsay’’ means), so a pair is one mark
OPEN_QUOTE = r"(?:‘‘|’’|''|[‘'“\"])"
CLOSE_QUOTE = r"(?:’’|''|[’'”\"])"
NOT_QUOTE = r"[^‘’'“”\"]"
_TERM = rf"{OPEN_QUOTE}({NOT_QUOTE}{{2,80}}){CLOSE_QUOTE}"
# the verbs that say a term is defined
_DEFINES = (
    r"means|mean|includes|include|shall mean|shall include|has the meaning|have the meaning"
    r"|refers to|is defined"
)
# one term or several ("'person' and 'whoever'"), up to four words, then the verb
_DEFINED = re.compile(
    _TERM
    + r"((?:\s*(?:,|and|or|,\s*and|,\s*or)\s*"
    + _TERM
    + r")*),?(?:\s+[a-z]+){0,4}?\s+(?:"
    + _DEFINES
    + r")\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(_TERM)
# a passage none of the verbs' stems is in defines nothing (most passages): a substring test
# spares it the pattern's scan (a case-blind regular expression would cost more than the scan)
_VERB_STEMS = ("mean", "includ", "refers to", "is defined")


def defined_terms(text: str) -> tuple[str, ...]:
    """The terms `text` defines, in order of appearance (repeats kept once). About 4 µs for a
    passage on average (most hold no defining verb and stop at the substring test): not
    cached, since a cache of passage texts would hold megabytes to save less."""
    lower = text.lower()
    if not any(stem in lower for stem in _VERB_STEMS):
        return ()
    terms: list[str] = []
    for match in _DEFINED.finditer(text):
        terms.append(match.group(1))
        terms.extend(m.group(1) for m in _QUOTED.finditer(match.group(2) or ""))
    return tuple(dict.fromkeys(t.strip() for t in terms if t.strip()))


def asked_terms(
    defined: Iterable[str], asked: Set[str], words: Callable[[str], Iterable[str]]
) -> list[frozenset[str]]:
    """The words of each defined term that a question asks about: all of the term's words
    (as `words` reads them: the learned order's stems, the extractive backend's terms) are
    among the question's (`asked`, read the same way)."""
    found = []
    for term in defined:
        held = frozenset(words(term))
        if held and held <= asked:
            found.append(held)
    return found
