"""Request and response models of the HTTP API (the pydantic edge of the domain values)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from indexing.model import Passage

KindName = Literal["statute", "rule", "regulation", "opinion"]
CitationStatus = Literal[
    "verified", "in_corpus", "unknown", "not_in_sources", "misquoted", "misattributed"
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _blank_filters_are_absent(cls, data: Any) -> Any:
        # forms send "" for an unset filter; treat it as absent rather than invalid
        if isinstance(data, dict):
            optional = ("as_of", "jurisdiction", "kind", "model")
            return {k: (None if k in optional and v == "" else v) for k, v in data.items()}
        return data


class AskRequest(_Request):
    """A question and the retrieval filters."""

    question: str = Field(min_length=1, max_length=20000, description="the question")
    top_k: int | None = Field(None, ge=1, le=50, description="passages to retrieve")
    as_of: date | None = Field(None, description="only law in force on this day (YYYY-MM-DD)")
    jurisdiction: str | None = Field(None, max_length=16, pattern=r"^[a-z]{2}(-[a-z]{2})?$")
    kind: KindName | None = None
    stream: bool = Field(False, description="Server-Sent Events instead of one JSON body")
    model: str | None = Field(
        None, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$", description="base or an adapter"
    )


class SearchRequest(_Request):
    """A retrieval query and its filters."""

    query: str = Field(min_length=1, max_length=20000)
    top_k: int = Field(10, ge=1, le=50)
    as_of: date | None = None
    jurisdiction: str | None = Field(None, max_length=16, pattern=r"^[a-z]{2}(-[a-z]{2})?$")
    kind: KindName | None = None
    mode: Literal["hybrid", "dense", "sparse"] = "hybrid"
    group_by_doc: bool = Field(
        False,
        description="one passage per document, documents ranked as a whole: a court opinion "
        "by its best three passages and by the judgments of the index citing it or cited by "
        "the best-ranked judgments",
    )


class PassageOut(BaseModel):
    """A retrieved passage, numbered as the answer cites it."""

    n: int
    doc_id: str
    chunk_id: str
    citation: str
    doc_citation: str
    pinpoint: str
    anchor: str
    title: str
    kind: str
    jurisdiction: str
    source: str
    version: str
    valid_from: date | None
    valid_to: date | None
    score: float
    text: str
    cut: bool = Field(False, description="the model was shown only the start of this text")

    @classmethod
    def of(cls, n: int, passage: Passage, cut: bool = False) -> PassageOut:
        """The API shape of passage number `n`."""
        c = passage.chunk
        return cls(
            n=n,
            doc_id=c.doc_id,
            chunk_id=c.chunk_id,
            citation=c.citation,
            doc_citation=c.doc_citation,
            pinpoint=c.pinpoint,
            anchor=c.anchor,
            title=c.title,
            kind=c.kind,
            jurisdiction=c.jurisdiction,
            source=c.source,
            version=c.version,
            valid_from=c.valid_from,
            valid_to=c.valid_to,
            score=float(passage.score),
            text=c.text,
            cut=cut,
        )


class CitationOut(BaseModel):
    """A citation in the answer and the result of checking it.

    `kind=source`: an `[n]` marker (status `verified`, `misquoted`, `misattributed` or
    `not_in_sources`).
    `kind=legal`: a legal citation written in the text (status `verified`, `in_corpus`,
    `unknown`).
    """

    n: int | None
    kind: Literal["source", "legal"]
    doc_id: str | None
    citation: str
    pinpoint: str
    anchor: str | None
    quote: str | None = Field(description="the first quoted span attributed to it")
    quotes: list[str] = Field(description="every quoted span attributed to it")
    status: CitationStatus
    text: str = Field(description="the marker or citation as written in the answer")
    message: str = ""


class Verification(BaseModel):
    """Summary of the citation check."""

    citations_by_status: dict[str, int]
    unsupported_claims: int
    unsupported: list[str]
    all_verified: bool


class IndexNote(BaseModel):
    """Sources a result's filters ask for that the index does not hold in full yet."""

    pending_sources: list[str] = Field(description="bundled source names still being indexed")
    message: str
    eta_s: int | None = Field(
        default=None, description="estimated seconds until the build completes"
    )


class IndexSourceStatus(BaseModel):
    """One source of the build."""

    state: Literal["pending", "indexing", "done", "failed"]
    documents: int
    passages: int
    units: int = 0
    units_read: int = 0


class IndexStatusResponse(BaseModel):
    """Where the index build stands: what is searchable and what is not yet."""

    state: Literal["filling", "complete", "failed", "unknown"] = Field(
        description="`filling` while a build runs; `unknown` when no build wrote a status"
    )
    build: str | None = Field(default=None, description="the build this status is about")
    current: str | None = Field(default=None, description="the build searches use now")
    serving: bool = Field(default=False, description="whether searches already use this build")
    sources_done: list[str] = Field(default_factory=list)
    sources_pending: list[str] = Field(default_factory=list)
    sources: dict[str, IndexSourceStatus] = Field(default_factory=dict)
    passages: int = 0
    passages_estimated: int = 0
    documents: int = 0
    rate_per_s: float = 0.0
    eta_s: int | None = None
    elapsed_s: float = 0.0
    started_at: str | None = None
    updated_at: str | None = None
    error: str | None = None


class AskResponse(BaseModel):
    """The answer with its checked citations and the passages it rests on."""

    answer: str = Field(description="display text: quote markers rendered as “…”")
    answer_raw: str = Field(description="the answer in the ##begin_quote## / [n] format")
    mode: Literal["llm", "extractive"]
    citations: list[CitationOut]
    passages: list[PassageOut]
    verification: Verification
    model: str = Field(description="the served model name that wrote it, or `extractive`")
    adapter: str | None = Field(None, description="the LoRA adapter, when `model` is one")
    base_model: str | None = Field(None, description="the base model the answer ran on")
    index_version: str
    degraded: bool = False
    degraded_reason: str | None = None
    answered: bool = Field(
        True,
        description="false when the indexed sources do not appear to address the question: "
        "`answer` says so and `passages` are the nearest ones, for reference, not an answer "
        "(see `declined_by`)",
    )
    declined_by: Literal["retrieval", "model"] | None = Field(
        None,
        description="who found that the sources do not address the question: `retrieval` (its "
        "calibrated relevance signal; no model was asked, `answer` is the gateway's fixed "
        "statement and cites nothing) or `model` (given the passages, the model said that "
        "they do not answer it and cited none of them); null when answered",
    )
    relevance: float | None = Field(
        None,
        description="calibrated probability that the index holds the law the question is about "
        "(null: not assessed)",
    )
    weak_match: bool = Field(
        False,
        description="answered, but `relevance` is below the calibration's caution cut: the "
        "passages match the question only weakly, and may not govern it (check them before "
        "relying on the answer); false when declined or not assessed",
    )
    not_held: list[str] = Field(
        default_factory=list,
        description="places the question names whose law the index holds none of (no "
        "passage of their jurisdiction, none of the enacted law found headed by their name); "
        "a question retrieval doubts that names one is not answered (`declined_by`: "
        "`retrieval`) unless it names held law or a held place beside it ('a federal court', "
        "'the GDPR', 'the United States'), when it is answered with `weak_match`; one it "
        "trusts that names only other countries, and no held law, is answered with "
        "`weak_match`",
    )
    timings: dict[str, float] = Field(
        default_factory=dict,
        description="seconds per stage: retrieval_s, first_token_s, generation_s, verification_s",
    )
    index_note: IndexNote | None = Field(
        default=None, description="set while sources the filters ask for are not indexed yet"
    )


class SearchResponse(BaseModel):
    """Passages only."""

    passages: list[PassageOut]
    index_version: str
    index_note: IndexNote | None = Field(
        default=None, description="set while sources the filters ask for are not indexed yet"
    )


class SectionOut(BaseModel):
    """One section (chunk) of a document, with its HTML anchor."""

    anchor: str
    pinpoint: str
    citation: str
    heading_path: list[str]
    text: str


class VersionOut(BaseModel):
    """A version of a document and when it was in force."""

    label: str
    valid_from: date | None
    valid_to: date | None


class DocumentResponse(BaseModel):
    """A document version's text, section by section."""

    doc_id: str
    citation: str
    title: str
    kind: str
    jurisdiction: str
    source: str
    version: VersionOut
    as_of: date | None
    versions: list[VersionOut]
    sections: list[SectionOut]


class ChatMessage(BaseModel):
    """An OpenAI chat message."""

    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | None = Field(None, max_length=20000)


class ChatRequest(BaseModel):
    """OpenAI-compatible chat completion request (the last user message is the question)."""

    model_config = ConfigDict(extra="ignore")
    model: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9._:/-]+$")
    messages: list[ChatMessage] = Field(min_length=1, max_length=64)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1, le=4096)
    temperature: float | None = Field(None, ge=0, le=2)
    top_k: int | None = Field(None, ge=1, le=50, description="Juris: passages to retrieve")


class ModelOut(BaseModel):
    """A model that can write answers (OpenAI's model object, with Juris's fields)."""

    id: str = Field(description="the name to send as `model`")
    object: Literal["model"] = "model"
    owned_by: str = "juris"
    kind: Literal["base", "adapter", "extractive"]
    parent: str | None = Field(None, description="for an adapter, the model it adapts")
    base_model: str | None = Field(None, description="the base model's directory name")
    max_model_len: int | None = None


class ModelsResponse(BaseModel):
    """The models that can write answers, and the one used when a request names none."""

    object: Literal["list"] = "list"
    data: list[ModelOut]
    default: str
    generator_ok: bool = Field(description="False while vLLM cannot be reached")


class ReadyResponse(BaseModel):
    """Readiness of the index and the generator."""

    status: Literal["ready", "degraded", "unavailable"]
    index: dict[str, object]
    generator: dict[str, object]


class KeyInfo(BaseModel):
    """An API key's public record (never its hash)."""

    name: str
    key_id: str
    scopes: list[str]
    revoked: bool
    rate_per_minute: float | None
