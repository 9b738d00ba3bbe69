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

The retriever declines a question only when the relevance signal already doubts it (below
the caution cut) and it names a place not held (`Retriever.search_assessed`): a city named
among the facts of a question the passages match well ("an arbitration in London") does not
decline it. Measured on the doctrine questions (`indexing/eval/README.md`, "Places the index
holds no law of").

    >>> finder = PlaceFinder()
    >>> finder.places("How long is the limitation period for a contract claim in Ontario?")
    (Place(name='Ontario', jurisdiction=None),)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from indexing.model import Passage
from legal_corpus.adapters.rulings import SPACY_MODEL
from legal_corpus.jurisdictions import jurisdiction_of

log = logging.getLogger(__name__)

# spaCy's entity label for geopolitical entities: countries, states, cities
_PLACE = "GPE"


@dataclass(frozen=True, slots=True)
class Place:
    """A place a question names, and its jurisdiction code (None: no code; held by no build)."""

    name: str
    jurisdiction: str | None


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

                    self._nlp = spacy.load(self.model, disable=["parser", "lemmatizer"])
                except (ImportError, OSError) as err:
                    self._missing = True
                    log.warning("place names are not read from questions: %s", err)
            return self._nlp

    def warm(self) -> None:
        """Load the pipeline in the background (readiness), so that the first question the
        relevance signal doubts does not wait for it."""
        if self._nlp is None and not self._missing:
            threading.Thread(target=self._pipeline, name="places", daemon=True).start()

    def places(self, text: str) -> tuple[Place, ...]:
        """The places `text` names, in order, each once, as written ("the United Kingdom",
        less a possessive's "'s"). A lower-case "place" is the model's error ("in
        absentia"), not a name, and is left out."""
        nlp = self._pipeline()
        if nlp is None:
            return ()
        out: dict[str, Place] = {}
        for ent in nlp(text).ents:
            name = ent.text.strip().removesuffix("'s").removesuffix("’s")
            if ent.label_ != _PLACE or not name.removeprefix("the ")[:1].isupper():
                continue
            out.setdefault(name, Place(name, jurisdiction_of(name)))
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
