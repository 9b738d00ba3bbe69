"""Places a question names whose law the index holds none of.

A question about a state's or another country's law ("adverse possession in New York", "a
German employee's notice period") finds the nearest provisions of the law the index does
hold, and the relevance signal (`indexing.relevance`) often lets them through in its caution
band: the words match, only the place is wrong, and the signal cannot see places. Named
places are facts a reader can check, so a search also reads them:

- the question's place names are found by spaCy's English named-entity model (`GPE`
  entities: countries, states, cities), the pipeline `legal_corpus.adapters.rulings` already
  installs for PDF parsing;
- each is mapped to a jurisdiction code (`legal_corpus.jurisdictions`): `us`, `us-ny`, `eu`,
  `in`; a place with no code (another country, a province, a city) is held by no build;
- a place is held when the build serving the search has passages of its jurisdiction, or
  when the title or headings of one of the passages found name it.

The retriever declines a question the relevance signal doubts (below the caution cut) when
it names a place not held and no held place or held law beside it
(`Retriever.search_assessed`). A question the signal trusts is never declined for a place: a
lawyer asks about events abroad under the law the index holds ("How is a defendant served
with process in Mexico?", Fed. R. Civ. P. 4(f)) in the same words as about another country's
law ("How long does copyright last in Japan?", which 17 U.S.C. § 302 matches just as well).
When every place it names is another country, or a province of one, under none of the
build's law, and no passage names it (`abroad`), the answer is marked a weak match naming
those places, so the reader is told what the index does not hold and judges which kind of
question it is. A city ("an arbitration in London"), a state (federal law applies there) and
a member state of the EU (so does EU law) never mark it. Nor does naming the held law beside
the place, by its courts or instruments ("Can a federal court confirm an award made in
Chile?", "Under the GDPR, may a controller transfer personal data to Israel?":
`legal_corpus.jurisdictions.laws_named`): the question asks how that law reaches abroad.
Such a question, and one naming a held place beside ("a US national living in Brazil"), is
not declined when the signal doubts it either: it stays a weak match that names the places
not held. Countries and their first-level subdivisions are read from pycountry's ISO 3166
tables (`legal_corpus.jurisdictions.country_of`). Measured on the doctrine questions and on
questions written about places (`indexing/eval/README.md`, "Places the index holds no law
of", "Held law named beside another country").

    >>> finder = PlaceFinder()
    >>> finder.places("How long is the limitation period for a contract claim in Ontario?")
    (Place(name='Ontario', jurisdiction=None, country='CA'),)
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from indexing.model import Passage
from legal_corpus.adapters.rulings import SPACY_MODEL
from legal_corpus.jurisdictions import country_of, jurisdiction_of, laws_of

log = logging.getLogger(__name__)

# spaCy's entity label for geopolitical entities: countries, states, cities
_PLACE = "GPE"


@dataclass(frozen=True, slots=True)
class Place:
    """A place a question names, its jurisdiction code (None: no code; held by no build) and
    the country it is or lies in (ISO 3166-1; None: not known to be one, such as a city)."""

    name: str
    jurisdiction: str | None
    country: str | None = None


# words a question opens with that begin no place name: a question whose other words are all
# in lower case then names no place, and the entity model is not run (three in four
# questions, about 2.5 ms each)
_OPENERS = frozenset(
    {
        "a", "after", "an", "are", "as", "at", "before", "by", "can", "could", "did", "do",
        "does", "during", "for", "has", "have", "how", "i", "if", "in", "is", "it", "may",
        "might", "must", "my", "no", "on", "once", "our", "shall", "should", "the", "there",
        "to", "under", "was", "we", "were", "what", "when", "where", "whether", "which",
        "while", "who", "whom", "whose", "why", "will", "would",
    }
)  # fmt: skip


def may_name_a_place(text: str) -> bool:
    """Whether `text` may name a place `PlaceFinder` keeps (a capitalised name): some word
    after the first is capitalised, or the first is not one of the words questions open
    with."""
    words = re.findall(r"[A-Za-z][\w'’.-]*", text)
    if not words:
        return False
    return words[0].lower() not in _OPENERS or any(w[0].isupper() for w in words[1:])


def only_entities(nlp: Any) -> Any:
    """`nlp` with only the entity recogniser and what it listens to enabled (the tagger,
    parser and lemmatizer change no entity; 5.1 → 2.5 ms a question with the bundled
    model)."""
    needed = {"ner"}
    for name in nlp.pipe_names:
        listeners = getattr(nlp.get_pipe(name), "listening_components", ())
        if "ner" in listeners:
            needed.add(name)
    nlp.select_pipes(disable=[name for name in nlp.pipe_names if name not in needed])
    return nlp


class PlaceFinder:
    """Finds the places a text names, with spaCy's English entity model, loaded on first use.

    Args:
        model: the spaCy pipeline's package name.

    Without spaCy or its model installed, no place is found (logged once): the relevance
    signal alone then decides, as it did before places were read.
    """

    def __init__(self, model: str = SPACY_MODEL) -> None:
        self.model = model
        self._nlp: Any = None
        self._missing = False
        self._lock = threading.Lock()

    def _pipeline(self) -> Any:
        with self._lock:
            if self._nlp is None and not self._missing:
                try:
                    import spacy

                    self._nlp = only_entities(spacy.load(self.model))
                except (ImportError, OSError) as err:
                    self._missing = True
                    log.warning("place names are not read from questions: %s", err)
            return self._nlp

    def warm(self) -> None:
        """Load the pipeline and the country tables in the background (readiness), so that
        the first question does not wait for them."""
        if self._nlp is None and not self._missing:
            threading.Thread(target=self._warm, name="places", daemon=True).start()

    def _warm(self) -> None:
        self._pipeline()
        country_of("Ontario")  # pycountry reads its tables on first use

    def places(self, text: str) -> tuple[Place, ...]:
        """The places `text` names, in order, each once, as written ("the United Kingdom",
        less a possessive's "'s"). A lower-case "place" is the model's error ("in
        absentia"), not a name, and is left out."""
        if not may_name_a_place(text):
            return ()
        nlp = self._pipeline()
        if nlp is None:
            return ()
        out: dict[str, Place] = {}
        for ent in nlp(text).ents:
            name = ent.text.strip().removesuffix("'s").removesuffix("’s")
            if ent.label_ != _PLACE or not name.removeprefix("the ")[:1].isupper():
                continue
            if name not in out:
                out[name] = Place(name, jurisdiction_of(name), country_of(name))
        return tuple(out.values())


def not_held(
    places: Sequence[Place], passages: Sequence[Passage], holds: Callable[[str], bool]
) -> tuple[str, ...]:
    """The names of `places` whose law the index holds none of.

    Args:
        places: the places a question names (`PlaceFinder.places`).
        passages: the passages found for it; one whose title or headings name a place (a
            federal statute on Puerto Rico) counts as holding it. Its text does not, nor an
            opinion's title: a judgment names many places its law is not about.
        holds: whether the build has passages of a jurisdiction code.
    """
    texts = [
        " › ".join((p.chunk.title, *p.chunk.heading_path)).lower()
        for p in passages
        if p.chunk.kind != "opinion"  # an opinion's title names its parties
    ]
    return tuple(
        place.name
        for place in places
        if not (place.jurisdiction is not None and holds(place.jurisdiction))
        and not any(place.name.lower().removeprefix("the ") in text for text in texts)
    )


def abroad(
    places: Sequence[Place], passages: Sequence[Passage], holds: Callable[[str], bool]
) -> tuple[str, ...]:
    """The names of `places` when every one is a country, or lies in one, whose law the index
    holds none of (`laws_of`: a state is under federal law, a member state under EU law)
    and no passage names (as `not_held`); () when the question names any other place.

    What marks a question the relevance signal trusts a weak match: "copyright in Japan" may
    be about Japan's law however well 17 U.S.C. § 302 matches its words, while "an
    arbitration in London … assets in New York" is about enforcement in the United States.
    """
    foreign = [
        p
        for p in places
        if p.country is not None
        and not any(holds(code) for code in laws_of(p.jurisdiction, p.country))
    ]
    if not foreign or len(foreign) < len(places):
        return ()
    missing = not_held(foreign, passages, holds)
    return missing if len(missing) == len(foreign) else ()
