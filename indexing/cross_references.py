"""Which provisions the enacted law's own passages cite: the corpus's cross-references.

Statutes, rules and regulations cite the provisions they build on: GDPR Art. 17(1)(b) erases
data when "the data subject withdraws consent on which the processing is based according to
point (a) of Article 6(1)", and 35 U.S.C. § 111 asks for "a specification as prescribed by
section 112". When a question's best passages keep citing one provision, that
provision is likely what they rest on, even where the question's words are not its words
("What legal grounds allow a company to process personal data?" and Art. 6, "Lawfulness of
processing"). The learned order (`indexing.learned_order`, feature `cited_by`) reads how
strongly a question's candidates cite each candidate's document.

`CrossReferences` holds, for every passage of a build that is not a court opinion, the
documents its text cites (read by the project's one citation parser,
`legal_corpus.citations`, with the passage's own US Code title, rule family or the GDPR as
the context of a bare `section 112`, `Rule 26` or `Article 6(1)`). It is counted once per
build in the background (`indexing.per_build`; about 10 s over the whole bundled corpus,
each distinct text parsed once) and kept beside an embedded build
(`indexing.kept_tables`).

    >>> passage_cites("gdpr:art17", "withdraws consent ... point (a) of Article 6(1)")
    ('gdpr:art6',)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from indexing import kept_tables
from indexing.store import Match, VectorStore, Where
from legal_corpus.citations import RULE_FAMILIES, parse_citations

# the format of a kept table (`CrossReferences.save`): raise it when what a passage is read
# to cite changes (the citation parser), so that a table kept by an earlier release is read again
FORMAT = 1
# document scheme -> the rule family its bare `Rule N` belongs to
_FAMILY = {family.namespace: name for name, family in RULE_FAMILIES.items()}


def passage_cites(doc_id: str, text: str) -> tuple[str, ...]:
    """The documents a passage of `doc_id` cites, other than its own, in order of first
    citation; () for a court opinion or a source without cross-references read here."""
    scheme, _, rest = doc_id.partition(":")
    if scheme == "usc":
        title = rest.split("/", 1)[0]
        found = parse_citations(text, usc_title=title if title.isdigit() else None)
    elif scheme == "gdpr":
        found = parse_citations(text, in_gdpr=True)
    elif scheme in _FAMILY:
        found = parse_citations(text, rule_family=_FAMILY[scheme])
    else:
        return ()
    return tuple(dict.fromkeys(c.doc_id for c in found if c.doc_id and c.doc_id != doc_id))


@dataclass(frozen=True, slots=True)
class CrossReferences:
    """point id -> the documents its passage cites (passages that cite none are left out)."""

    cites: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_passages(cls, passages: Iterable[tuple[str, str, str]]) -> CrossReferences:
        """Read `(point id, doc_id, text)` passages, each distinct text of a document once."""
        seen: dict[tuple[str, str], tuple[str, ...]] = {}
        out: dict[str, tuple[str, ...]] = {}
        for id_, doc_id, text in passages:
            key = (doc_id, text)
            if key not in seen:
                seen[key] = passage_cites(doc_id, text)
            if seen[key]:
                out[id_] = seen[key]
        return cls(out)

    @classmethod
    def from_store(cls, store: VectorStore) -> CrossReferences:
        """Read every passage of a build that is not a court opinion, all versions."""
        hits = store.scroll(Where((), (Match("kind", "opinion"),)), fields=("doc_id", "text"))
        return cls.from_passages(
            (str(h.id), str(h.payload.get("doc_id") or ""), str(h.payload.get("text") or ""))
            for h in hits
        )

    def of(self, point_id: str) -> tuple[str, ...]:
        """The documents the passage `point_id` cites."""
        return self.cites.get(point_id, ())

    def save(self, path: Path) -> None:
        """Write the table as JSON, atomically (`indexing.kept_tables.save_json`)."""
        kept_tables.save_json(path, FORMAT, "cites", self.cites)

    @classmethod
    def load(cls, path: Path) -> CrossReferences:
        """Read a table `save` wrote.

        Raises:
            OSError: it cannot be read.
            ValueError: it is not a table of this format (names the file).
        """
        return cls(
            kept_tables.load_json(
                path,
                FORMAT,
                "cites",
                "cross-references",
                lambda cites: {str(k): tuple(str(d) for d in v) for k, v in cites.items()},
            )
        )


def cached_cross_references(store: VectorStore, root: Path | None) -> CrossReferences:
    """`store`'s cross-references, kept beside an embedded build (`indexing.kept_tables`;
    `root`: the embedded index's directory, None for a server's collection)."""
    return kept_tables.kept_table(
        store,
        root,
        "xrefs",
        CrossReferences.from_store,
        CrossReferences.load,
        CrossReferences.save,
    )
