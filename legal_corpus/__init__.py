"""Juris's canonical legal document model, source adapters and citation parsing.

Public verbs: `iter_documents` (stream every document version of a corpus),
`load_versions` / `as_of` (one document through time), `parse_citations` (legal
citations in free text, normalised to the citations documents carry).
"""

from legal_corpus.adapters import IngestReport, ParseError, SourceUnit, iter_documents
from legal_corpus.corpus import as_of, default_corpus_dir, load_versions
from legal_corpus.model import Citation, CitationKind, Kind, LegalDocument, Section, Version

__all__ = [
    "Citation",
    "CitationKind",
    "IngestReport",
    "Kind",
    "LegalDocument",
    "ParseError",
    "Section",
    "SourceUnit",
    "Version",
    "as_of",
    "default_corpus_dir",
    "iter_documents",
    "load_versions",
]
