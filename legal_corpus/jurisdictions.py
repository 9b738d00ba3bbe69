"""Jurisdiction codes, and the place names that stand for them.

Every document carries a jurisdiction code (`legal_corpus.model.LegalDocument.jurisdiction`):
`us` for United States federal law, `us-<postal code>` for a state's, `eu` for the European
Union's, `in` for India's. `jurisdiction_of` maps a place as a question names it ("New York",
"the United States", "the EU") to its code, so a search can tell whether the index holds any
law of the place a question is about (`indexing.places`).

    >>> jurisdiction_of("New Jersey")
    'us-nj'
    >>> jurisdiction_of("the U.S.")
    'us'
    >>> jurisdiction_of("Ontario") is None
    True
"""

from __future__ import annotations

import re

# fmt: off
US_STATES = {
    "Alabama": "al", "Alaska": "ak", "Arizona": "az", "Arkansas": "ar", "California": "ca",
    "Colorado": "co", "Connecticut": "ct", "Delaware": "de", "District of Columbia": "dc",
    "Florida": "fl", "Georgia": "ga", "Hawaii": "hi", "Idaho": "id", "Illinois": "il",
    "Indiana": "in", "Iowa": "ia", "Kansas": "ks", "Kentucky": "ky", "Louisiana": "la",
    "Maine": "me", "Maryland": "md", "Massachusetts": "ma", "Michigan": "mi", "Minnesota": "mn",
    "Mississippi": "ms", "Missouri": "mo", "Montana": "mt", "Nebraska": "ne", "Nevada": "nv",
    "New Hampshire": "nh", "New Jersey": "nj", "New Mexico": "nm", "New York": "ny",
    "North Carolina": "nc", "North Dakota": "nd", "Ohio": "oh", "Oklahoma": "ok", "Oregon": "or",
    "Pennsylvania": "pa", "Rhode Island": "ri", "South Carolina": "sc", "South Dakota": "sd",
    "Tennessee": "tn", "Texas": "tx", "Utah": "ut", "Vermont": "vt", "Virginia": "va",
    "Washington": "wa", "West Virginia": "wv", "Wisconsin": "wi", "Wyoming": "wy",
    "Guam": "gu", "Puerto Rico": "pr", "Virgin Islands": "vi", "American Samoa": "as",
    "Northern Mariana Islands": "mp",
}
# fmt: on
# names of the jurisdictions that are not states, as written with the stops and articles
# taken out (`_key`)
_NAMED = {
    "us": "us",
    "usa": "us",
    "united states": "us",
    "united states of america": "us",
    "america": "us",
    "dc": "us-dc",
    "washington dc": "us-dc",
    "eu": "eu",
    "european union": "eu",
    "europe": "eu",
    "india": "in",
    "republic of india": "in",
}
_BY_NAME = {name.lower(): f"us-{code}" for name, code in US_STATES.items()}
_BY_POSTAL = {code.upper(): f"us-{code}" for code in US_STATES.values()}


def _key(name: str) -> str:
    name = re.sub(r"[’']s$", "", name.strip())
    name = re.sub(r"^the\s+", "", name, flags=re.IGNORECASE)
    return " ".join(name.replace(".", "").replace(",", " ").split()).lower()


def jurisdiction_of(place: str) -> str | None:
    """The jurisdiction code of a place as written in a question (a state, a country, a
    union), or None for a place that is none of the jurisdictions Juris codes (another
    country, a province, a city). A state's postal code counts only in capitals ("NY")."""
    key = _key(place)
    found = _NAMED.get(key) or _BY_NAME.get(key)
    if found is None and re.fullmatch(r"[A-Z]{2}", place.strip()):
        found = _BY_POSTAL.get(place.strip())
    return found
