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
    >>> country_of("Ontario"), law_applying("Ontario"), law_applying("Texas")
    ('CA', (), ('us-tx', 'us'))
    >>> laws_named("Can a federal court confirm an award made in Chile?")
    ('us',)
"""

from __future__ import annotations

import re
from functools import lru_cache

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
# the countries (ISO 3166-1 alpha-2) where EU law applies: the member states, and the EEA
# states that take in the GDPR (Iceland, Liechtenstein, Norway)
# fmt: off
EU_LAW_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
})
# fmt: on
# common English names of countries that ISO 3166 (and so pycountry) spells otherwise
# fmt: off
_COUNTRY_NAMES = {
    "uk": "GB", "britain": "GB", "great britain": "GB", "wales": "GB", "russia": "RU",
    "turkey": "TR", "uae": "AE", "korea": "KR", "holland": "NL", "burma": "MM",
    "ivory coast": "CI", "swaziland": "SZ", "cape verde": "CV", "macedonia": "MK",
    "brunei": "BN", "vatican": "VA", "palestine": "PS",
}
# fmt: on
# a country -> the jurisdiction whose law applies throughout it
_COUNTRY_LAW = {"US": "us", "IN": "in", **{c: "eu" for c in EU_LAW_COUNTRIES}}
_BY_POSTAL = {code.upper(): f"us-{code}" for code in US_STATES.values()}
# words that name a jurisdiction's law by its courts or its instruments rather than by a place
# ("a federal court", "under the GDPR", "an EU company", "in the Union"); an entity model
# reads none of them as a place
_LAW_WORDS = {
    "us": re.compile(r"\bfederal\b", re.IGNORECASE),
    "eu": re.compile(r"\b(?:EU|E\.U\.|European Union|GDPR|Member States?)(?!\w)|\bthe Union\b"),
}


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


def country_of(place: str) -> str | None:
    """The ISO 3166-1 code of the country a place is ("Japan": `JP`), or lies in when ISO
    3166-2 names it as a country's first-level subdivision ("Ontario": `CA`, "England": `GB`,
    "New York": `US`), by pycountry's tables; None for a city, a region ISO does not name
    that way, a union ("the EU"), or without pycountry installed. A state's name is the
    state's ("Georgia": `US`)."""
    if (jurisdiction_of(place) or "").startswith("us"):
        return "US"
    name = re.sub(r"[’']s$", "", place.strip())
    name = re.sub(r"^the\s+", "", name, flags=re.IGNORECASE)
    if not name:
        return None
    known = _COUNTRY_NAMES.get(_key(name))
    if known:
        return known
    try:
        import pycountry
    except ImportError:
        return None
    try:
        return str(pycountry.countries.lookup(name).alpha_2)
    except LookupError:
        return _subdivisions().get(name.lower())


@lru_cache(maxsize=1)
def _subdivisions() -> dict[str, str]:
    """First-level subdivision name (lower case) -> its country's code; a name two countries
    share is left out."""
    import pycountry

    found: dict[str, set[str]] = {}
    for sub in pycountry.subdivisions:
        if getattr(sub, "parent_code", None) is None:
            found.setdefault(str(sub.name).lower(), set()).add(str(sub.country_code))
    return {name: next(iter(codes)) for name, codes in found.items() if len(codes) == 1}


def law_applying(place: str) -> tuple[str, ...]:
    """The jurisdiction codes whose law applies in a place: its own (`jurisdiction_of`) and
    that of the country or union it lies in (federal law in a state, EU law in a member
    state); () for another country, its provinces, or a place neither names."""
    return laws_of(jurisdiction_of(place), country_of(place))


def laws_of(jurisdiction: str | None, country: str | None) -> tuple[str, ...]:
    """`law_applying` for a place already read: its jurisdiction code and its country's."""
    codes = (jurisdiction, _COUNTRY_LAW.get(country) if country else None)
    return tuple(dict.fromkeys(c for c in codes if c))


def laws_named(text: str) -> tuple[str, ...]:
    """The jurisdictions whose law `text` names by its courts or instruments rather than by a
    place: "in federal court" (`us`), "under the GDPR", "an EU company", "a representative in
    the Union" (`eu`). A question that names them beside another country asks how that law
    reaches there ("Can a federal court confirm an award made in Chile?")."""
    return tuple(code for code, words in _LAW_WORDS.items() if words.search(text))
