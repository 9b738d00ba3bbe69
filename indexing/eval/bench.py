# ruff: noqa: E501  (Markdown report lines are kept whole for readability)
"""`python -m indexing bench --out var/bench`: indexing throughput, sync cost, query latency,
HNSW recall against exact search, and torch fp32 vs ONNX int8 embeddings.

Writes `indexing.json` and `indexing.md` into `--out`. Everything runs on samples of the real
corpus sized by `--sample` / `--queries` (a whole-corpus build takes hours on 2 shared CPU
cores); the Markdown says what each figure was measured on.

1. Throughput: the same chunks embedded by `SentenceTransformer.encode` alone, then indexed by
   the whole pipeline (parsing, chunking, sparse weights, embedding, upserts; no embedding
   cache), in the same run.
2. Sync: a full build of a corpus of AILA statutes, then a sync with no change, then one with
   1% of the documents changed (no embedding cache either).
3. Query latency: hybrid + filters, query embedding included, one client; the engine's own
   time for the same queries (precomputed vectors) in the same run. Timed once the build's
   per-build tables are computed (`Retriever.settle`), as a running gateway serves.
4. HNSW recall@10 and recall@100 against exact search on the same real embeddings, for a few
   `ef` values (100 deep: the candidates the learned order re-scores for a question).
5. Embeddings: torch fp32 and ONNX int8 throughput on the same chunks, cosine agreement, and
   dense document retrieval quality (MAP, recall@100 with `ir-measures`) on the AILA dev
   statute queries over all 197 statutes.
6. Reranking cost: `Retriever.search` with and without the cross-encoder over its top 30,
   same queries, interleaved. The configured `JURIS_RERANKER_DIR`, else a stand-in of the
   usual reranker's shape (MiniLM-L6: 6 layers, hidden 384, the embedding model's
   tokenizer) with random weights, which measures speed only.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from indexing.build import make_indexer, parse_tracked, run_build
from indexing.chunking import Chunker, embed_text, model_token_counter
from indexing.embeddings import Embedder, load_embedder
from indexing.model import SearchFilters
from indexing.retrieve import DOCUMENT_CANDIDATES, Retriever, filter_conditions
from indexing.settings import IndexSettings
from indexing.sparse import Bm25Encoder
from indexing.store import EdgeCatalog, new_build_name
from indexing.sync import run_sync
from legal_corpus.adapters import IngestReport, SourceUnit, discover_units

log = logging.getLogger(__name__)

QUERIES = [
    "Can an expert witness give an opinion on the ultimate issue?",
    "motion to dismiss for failure to state a claim",
    "fair use of a copyrighted work for criticism or teaching",
    "right to erasure of personal data",
    "summary judgment when there is no genuine dispute as to any material fact",
    "punishment for murder",
    "lawfulness of processing based on consent",
    "exclusive rights of the copyright owner to reproduce the work",
    "time to serve a responsive pleading after service of the summons",
    "anticipatory bail when a person apprehends arrest",
]


ALL_PARTS = (
    "throughput",
    "sync",
    "latency",
    "hnsw",
    "embeddings",
    "rerank",
    "speedups",
    "incoming",
    "corpus",
)
DEFAULT_PARTS = "throughput,sync,latency,hnsw,embeddings,rerank,speedups,incoming,corpus"


def raw_encode_seconds(embedder: Any, texts: list[str], batch: int) -> float:
    """Seconds of the baseline: `SentenceTransformer.encode` on `texts` in one call (the
    embedder's own `encode` when it wraps no sentence-transformers model)."""
    model: Any = getattr(embedder, "model", None)
    t0 = time.perf_counter()
    if model is not None:
        model.encode(texts, batch_size=batch, normalize_embeddings=True)
    else:
        embedder.encode(texts)
    return time.perf_counter() - t0


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else 0.0


def _sample_units(corpus: Path, sources: list[str], per_source: int) -> list[SourceUnit]:
    units: list[SourceUnit] = []
    for source in sources:
        found = discover_units(corpus, [source])
        step = max(1, len(found) // per_source)
        units.extend(found[::step][:per_source])
    return units


def bench_throughput(settings: IndexSettings, sample: int, work: Path) -> dict[str, Any]:
    """Pipeline chunks/s vs raw `encode` chunks/s on the same chunks."""
    from tqdm import tqdm

    corpus = settings.corpus()
    raw = load_embedder(settings.model_dir(), "torch", settings.embed_batch)
    indexer = make_indexer(settings, raw)  # no cache: every chunk is embedded
    units = _sample_units(corpus, ["federal_rules", "gdpr", "aila/casedocs", "uscode"], 400)
    report = IngestReport()
    chosen: list[SourceUnit] = []
    texts: list[str] = []
    by_unit: dict[str, int] = {}
    for unit in units:
        before = len(texts)
        for doc in parse_tracked([unit], report):
            texts.extend(embed_text(c) for c in indexer.chunker.chunk(doc))
        if len(texts) > before:
            chosen.append(unit)
            by_unit[f"{unit.source}/{unit.key}"] = len(texts) - before
        if len(texts) >= sample:
            break
    raw_s = raw_encode_seconds(raw, texts, settings.embed_batch)
    catalog = EdgeCatalog(work / "throughput", settings.collection)
    store = catalog.create(new_build_name(settings.collection), raw.dim)
    t0 = time.perf_counter()
    stats = indexer.run(parse_tracked(chosen, IngestReport()), store, progress=False)
    store.flush()
    pipe_s = time.perf_counter() - t0
    store.close()
    catalog.swap(store.name)
    tqdm.write(f"throughput: {len(texts)} chunks, encode {raw_s:.1f}s, pipeline {pipe_s:.1f}s")
    return {
        "chunks": len(texts),
        "pipeline_chunks": stats.chunks,
        "units": len(chosen),
        "encode_seconds": raw_s,
        "pipeline_seconds": pipe_s,
        "encode_chunks_per_s": len(texts) / raw_s,
        "pipeline_chunks_per_s": stats.chunks / pipe_s,
        "ratio": (stats.chunks / pipe_s) / (len(texts) / raw_s),
        "pipeline_embed_seconds": stats.embed_seconds,
        "pipeline_upsert_seconds": stats.upsert_seconds,
    }


def bench_sync(settings: IndexSettings, work: Path, docs: int) -> dict[str, Any]:
    """Full build vs no-change sync vs 1%-changed sync on a copy of AILA statutes."""
    corpus = work / "sync_corpus"
    folder = corpus / "aila" / "statutes"
    folder.mkdir(parents=True, exist_ok=True)
    src = settings.corpus() / "aila" / "statutes"
    files = sorted(src.glob("S*.txt"), key=lambda p: int(p.stem[1:]))[:docs]
    for f in files:
        shutil.copy(f, folder / f.name)
    s = settings.model_copy(
        update={"qdrant_path": work / "sync_index", "corpus_dir": corpus, "embed_cache": None}
    )
    t0 = time.perf_counter()
    built = run_build(s, progress=False)
    full = time.perf_counter() - t0
    t0 = time.perf_counter()
    idle = run_sync(s, progress=False)
    nochange = time.perf_counter() - t0
    changed = max(1, len(files) // 100)
    for f in files[:changed]:
        p = folder / f.name
        p.write_text(p.read_text().rstrip("\n") + " As amended by the benchmark.\n")
    t0 = time.perf_counter()
    one = run_sync(s, progress=False)
    onepct = time.perf_counter() - t0
    return {
        "documents": len(files),
        "chunks": built.stats.chunks,
        "full_build_seconds": full,
        "sync_nochange_seconds": nochange,
        "sync_nochange_ratio": nochange / full,
        "sync_nochange_embedded": idle.embedded_chunks,
        "changed_documents": changed,
        "sync_1pct_seconds": onepct,
        "sync_1pct_ratio": onepct / full,
        "sync_1pct_embedded": one.embedded_chunks,
    }


def bench_latency(
    settings: IndexSettings, index_root: Path, n_queries: int, embedder: Embedder
) -> dict[str, Any]:
    """Hybrid + filters through `Retriever.search` (with the configured learned order) vs the
    engine alone and vs the fused order, same queries."""
    from indexing.model_record import model_identity
    from indexing.retrieve import configured_order

    s = settings.model_copy(update={"qdrant_path": index_root, "qdrant_url": None})
    catalog = EdgeCatalog(index_root, s.collection, s.exact_below)
    order = configured_order(s, model_identity(s.model_dir(), s.embed_backend))
    retriever = Retriever(
        catalog,
        embedder,
        hnsw_ef=s.hnsw_ef,
        order=order,
        passages_per_document=s.passages_per_document,
    )
    store = retriever.current_store()
    points = store.count()
    t_open = time.perf_counter()
    settled = retriever.settle()  # a running gateway's state: the build's tables are in
    settle_s = time.perf_counter() - t_open
    filters = SearchFilters(as_of=time_today(), jurisdiction="us")
    queries = [
        QUERIES[i % len(QUERIES)] + ("" if i < len(QUERIES) else f" {i}") for i in range(n_queries)
    ]
    for q in queries[:3]:
        retriever.search(q, top_k=10, filters=filters)  # warm up
    full: list[float] = []
    for q in queries:
        t0 = time.perf_counter()
        retriever.search(q, top_k=10, filters=filters)
        full.append((time.perf_counter() - t0) * 1000)
    fused: list[float] = []  # the same searches in the fused order
    retriever.order = None
    for q in queries:
        t0 = time.perf_counter()
        retriever.search(q, top_k=10, filters=filters)
        fused.append((time.perf_counter() - t0) * 1000)
    retriever.order = order
    grouped: list[float] = []  # one passage per document: the document ranking
    retriever.search(queries[0], top_k=10, filters=filters, group_by_doc=True)  # citation graph
    for q in queries[:100]:
        t0 = time.perf_counter()
        retriever.search(q, top_k=10, filters=filters, group_by_doc=True)
        grouped.append((time.perf_counter() - t0) * 1000)
    facts = _fact_patterns(settings.corpus())  # long statements of facts, when bundled
    fact_ms: list[float] = []
    if facts:
        retriever.search_documents(facts[0], top_k=10)  # statute usage and graph in
        for q in facts:
            t0 = time.perf_counter()
            retriever.search_documents(q, top_k=10)
            fact_ms.append((time.perf_counter() - t0) * 1000)
    vecs = [embedder.encode([q])[0] for q in queries]
    sparse = retriever.sparse_encoder(store)  # the build's own sparse format
    where = filter_conditions(filters)
    engine: list[float] = []
    for q, v in zip(queries, vecs, strict=True):
        sv = sparse.query(q)
        t0 = time.perf_counter()
        store.query([list(v)], sv, where, limit=10, prefetch=50, hnsw_ef=s.hnsw_ef)
        engine.append((time.perf_counter() - t0) * 1000)
    embed: list[float] = []
    for q in queries[:50]:
        t0 = time.perf_counter()
        embedder.encode([q])
        embed.append((time.perf_counter() - t0) * 1000)
    retriever.close()
    return {
        "index_points": points,
        "queries": len(queries),
        "settled": settled,
        "settle_s": settle_s,
        "search_p50_ms": _percentile(full, 50),
        "search_p99_ms": _percentile(full, 99),
        "learned_order": order is not None,
        "fused_order_p50_ms": _percentile(fused, 50),
        "learned_vs_fused_order_p50": _percentile(full, 50) / _percentile(fused, 50),
        "grouped_p50_ms": _percentile(grouped, 50),
        "grouped_vs_search_p50": _percentile(grouped, 50) / _percentile(full[:100], 50),
        "engine_p50_ms": _percentile(engine, 50),
        "engine_p99_ms": _percentile(engine, 99),
        "query_embed_p50_ms": _percentile(embed, 50),
        "filters": "as_of today + jurisdiction us",
        "fact_patterns": len(fact_ms),
        "fact_pattern_p50_ms": _percentile(fact_ms, 50) if fact_ms else None,
        "fact_pattern_vs_grouped_p50": (
            _percentile(fact_ms, 50) / _percentile(grouped, 50) if fact_ms else None
        ),
    }


def _settled_line(la: dict[str, Any]) -> str:
    """When the timing began: after the build's per-build tables were in, or not (an older
    result without the field, or a build whose tables took longer than the wait)."""
    if "settled" not in la:
        return "- timed from the first search (the build's per-build tables computing meanwhile)"
    if not la["settled"]:
        return f"- timed after waiting {la['settle_s']:.1f} s: the build's per-build tables were still computing"
    return f"- timed once the build's per-build tables were in ({la['settle_s']:.1f} s after opening), as a running gateway serves"


def _fact_patterns(corpus: Path) -> list[str]:
    """The AILA dev queries (a page of facts each) the corpus bundles, or none."""
    from indexing.eval.crossval import DEV_FILES
    from indexing.eval.metrics import read_queries

    out: list[str] = []
    for queries, _, _ in DEV_FILES:
        if (corpus / queries).is_file():
            out += read_queries(corpus / queries).values()
    return out


RERANK_DEPTHS = (10, 30)


def bench_rerank(
    settings: IndexSettings, index_root: Path, n_queries: int, embedder: Embedder, work: Path
) -> dict[str, Any]:
    """Search latency without the cross-encoder reranker and with it at each depth of
    `RERANK_DEPTHS`, same queries, interleaved."""
    from indexing.rerank import CrossEncoderReranker, load_reranker

    model_dir, stand_in = settings.reranker_dir, settings.reranker_dir is None
    if model_dir is None:
        model_dir = _minilm_shaped_cross_encoder(settings.model_dir(), work / "cross-encoder")
    model = load_reranker(model_dir).model
    s = settings.model_copy(update={"qdrant_path": index_root, "qdrant_url": None})
    catalog = EdgeCatalog(index_root, s.collection, s.exact_below)
    retrievers = {"plain": Retriever(catalog, embedder, hnsw_ef=s.hnsw_ef)}
    for depth in RERANK_DEPTHS:
        reranker = CrossEncoderReranker(model, depth, settings.rerank_weight)
        retrievers[f"depth {depth}"] = Retriever(
            catalog, embedder, hnsw_ef=s.hnsw_ef, reranker=reranker
        )
    queries = [QUERIES[i % len(QUERIES)] for i in range(min(n_queries, 50))]
    for r in retrievers.values():
        r.search(queries[0], top_k=10)  # warm up
    times: dict[str, list[float]] = {name: [] for name in retrievers}
    for q in queries:
        for name, r in retrievers.items():
            t0 = time.perf_counter()
            r.search(q, top_k=10)
            times[name].append((time.perf_counter() - t0) * 1000)
    for r in retrievers.values():
        r.close()
    p50 = {k: _percentile(v, 50) for k, v in times.items()}
    return {
        "queries": len(queries),
        "model": "MiniLM-L6-shaped stand-in (random weights)" if stand_in else str(model_dir),
        "plain_p50_ms": p50["plain"],
        "plain_p99_ms": _percentile(times["plain"], 99),
        "depths": [
            {
                "depth": depth,
                "p50_ms": p50[f"depth {depth}"],
                "p99_ms": _percentile(times[f"depth {depth}"], 99),
                "ratio_p50": p50[f"depth {depth}"] / p50["plain"],
            }
            for depth in RERANK_DEPTHS
        ],
    }


def _minilm_shaped_cross_encoder(tokenizer_dir: Path, out: Path) -> Path:
    """A random BERT cross-encoder of ms-marco-MiniLM-L-6-v2's shape, for timing only."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=384,
        num_hidden_layers=6,
        num_attention_heads=12,
        intermediate_size=1536,
    )
    config.num_labels = 1
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def time_today() -> Any:
    from datetime import date

    return date.today()


def bench_hnsw_recall(
    index_root: Path, collection: str, work: Path, embedder: Embedder
) -> dict[str, Any]:
    """Recall@10 and recall@100 of HNSW (m=16, ef_construct=128) vs exact search on the same
    real vectors, per query-time ef: 10 deep is what a plain search shows, 100 deep is what the
    learned order re-scores for a question (`retrieve.QUESTION_CANDIDATES`)."""
    import qdrant_edge as qe

    src = EdgeCatalog(index_root, collection).open(
        EdgeCatalog(index_root, collection).current() or ""
    )
    ids, vectors = [], []
    for rec_batch in _scroll_vectors(src):
        for rid, vec in rec_batch:
            ids.append(rid)
            vectors.append(vec)
    src.close()
    path = work / "hnsw"
    shutil.rmtree(path, ignore_errors=True)
    shard = qe.EdgeShard.create(
        str(path),
        qe.EdgeConfig(
            vectors={"dense": qe.EdgeVectorParams(len(vectors[0]), qe.Distance.Cosine)},
            hnsw_config=qe.HnswIndexConfig(m=16, ef_construct=128, full_scan_threshold=1),
            optimizers=qe.EdgeOptimizersConfig(indexing_threshold=1, default_segment_number=1),
        ),
    )
    for i in range(0, len(ids), 500):
        shard.update(
            qe.UpdateOperation.upsert_points(
                [
                    qe.Point(pid, {"dense": v})
                    for pid, v in zip(ids[i : i + 500], vectors[i : i + 500], strict=True)
                ]
            )
        )
    shard.optimize()
    info = shard.info()
    queries = [embedder.encode([q])[0].tolist() for q in QUERIES]
    rng = np.random.default_rng(0)
    queries += [vectors[int(i)] for i in rng.choice(len(vectors), size=40, replace=False)]
    out: dict[str, Any] = {"points": len(ids), "indexed_vectors": info.indexed_vectors_count}

    def top(q: list[float], params: Any, k: int) -> set[str]:
        req = qe.QueryRequest(limit=k, query=qe.Query.Nearest(q, using="dense"), params=params)
        return {str(p.id) for p in shard.query(req)}

    for k in (10, 100):
        exact = [top(q, qe.SearchParams(exact=True), k) for q in queries]
        for ef in (16, 64, 128, 256, 512, 1024):
            rec = []
            for q, truth in zip(queries, exact, strict=True):
                got = top(q, qe.SearchParams(hnsw_ef=ef), k)
                rec.append(len(got & truth) / max(1, len(truth)))
            out[f"recall@{k}_ef{ef}"] = statistics.mean(rec)
    shard.close()
    return out


def _scroll_vectors(store: Any) -> Any:
    import qdrant_edge as qe

    offset = None
    while True:
        with store._lock:
            recs, offset = store._shard.scroll(
                qe.ScrollRequest(
                    offset=offset, limit=1000, with_payload=False, with_vector=["dense"]
                )
            )
        # passages of long opinions beyond the dense budget have no dense vector
        yield [(str(r.id), list(r.vector["dense"])) for r in recs if "dense" in (r.vector or {})]
        if offset is None or not recs:
            return


def bench_embeddings(settings: IndexSettings, work: Path, sample: int) -> dict[str, Any]:
    """torch fp32 vs ONNX int8: throughput, cosine agreement, AILA statute retrieval quality."""
    import ir_measures
    from ir_measures import AP, P, R

    corpus = settings.corpus()
    chunker = Chunker(model_token_counter(settings.model_dir()), max_tokens=200)
    report = IngestReport()
    units = discover_units(corpus, ["aila/statutes"])
    chunks = [c for doc in parse_tracked(units, report) for c in chunker.chunk(doc)]
    texts = [embed_text(c) for c in chunks]
    queries = {}
    for line in (corpus / "aila" / "queries_dev.txt").read_text().splitlines():
        if "||" in line:
            qid, text = line.split("||", 1)
            queries[qid.strip()] = text.strip()
    qrels = list(ir_measures.read_trec_qrels(str(corpus / "aila" / "qrels_statutes_dev.txt")))
    out: dict[str, Any] = {"chunks": len(chunks), "documents": len({c.doc_id for c in chunks})}
    vectors: dict[str, np.ndarray] = {}
    for backend in ("torch", "onnx-int8"):
        emb = load_embedder(
            settings.model_dir(), backend, settings.embed_batch, work.parent / "onnx"
        )
        emb.encode(texts[:8])  # warm up (and export the ONNX model once)
        n = min(sample, len(texts))
        t0 = time.perf_counter()
        emb.encode(texts[:n])
        rate = n / (time.perf_counter() - t0)
        vecs = emb.encode(texts)
        vectors[backend] = vecs
        # document ranking: best chunk per statute, long queries windowed and max-fused
        retr = Retriever.__new__(Retriever)
        retr.count_tokens = model_token_counter(settings.model_dir())
        retr.window_tokens = 200
        run = []
        for qid, q in queries.items():
            qv = emb.encode(retr.query_windows(q))
            sims = (vecs @ qv.T).max(axis=1)
            best: dict[str, float] = {}
            for c, sc in zip(chunks, sims, strict=True):
                d = c.doc_id.split(":", 1)[1]
                best[d] = max(best.get(d, -1.0), float(sc))
            for d, sc in sorted(best.items(), key=lambda kv: -kv[1])[:100]:
                run.append(ir_measures.ScoredDoc(qid, d, sc))
        agg = ir_measures.calc_aggregate([AP, R @ 100, P @ 10], qrels, run)
        out[backend] = {
            "chunks_per_s": rate,
            "timed_chunks": n,
            "map": agg[AP],
            "recall@100": agg[R @ 100],
            "p@10": agg[P @ 10],
        }
    cos = (vectors["torch"] * vectors["onnx-int8"]).sum(axis=1)
    out["cosine_min"] = float(cos.min())
    out["cosine_mean"] = float(cos.mean())
    return out


def _markdown(res: dict[str, Any]) -> str:
    t, sy, la, hn, em, rr, sp, inc, co = (res.get(k, {}) for k in ALL_PARTS)
    lines = ["# indexing benchmarks", "", f"Machine: {res['machine']}; run {res['started']}.", ""]
    if t:
        lines += [
            "## 1. Indexing throughput (same chunks, same run)",
            f"- `SentenceTransformer.encode` alone: **{t['encode_chunks_per_s']:.1f} chunks/s** ({t['chunks']} chunks)",
            f"- whole pipeline (parse, chunk, sparse, embed, upsert): **{t['pipeline_chunks_per_s']:.1f} chunks/s**",
            f"- ratio: **{t['ratio']:.2f}** (target ≥ 0.8)",
            "",
        ]
    if sy:
        lines += [
            "## 2. Sync vs full build",
            f"- corpus: {sy['documents']} AILA statutes, {sy['chunks']} chunks; full build {sy['full_build_seconds']:.1f} s",
            f"- no change: {sy['sync_nochange_seconds']:.2f} s = **{100 * sy['sync_nochange_ratio']:.1f}%** of a build (target ≤ 2%), {sy['sync_nochange_embedded']} chunks embedded",
            f"- {sy['changed_documents']} document(s) changed (1%): {sy['sync_1pct_seconds']:.2f} s = **{100 * sy['sync_1pct_ratio']:.1f}%** (target ≤ 5%), {sy['sync_1pct_embedded']} chunks embedded",
            "",
        ]
    if la:
        lines += [
            "## 3. Query latency (embedded engine, hybrid + filters, one client)",
            f"- index: {la['index_points']} points; {la['queries']} queries; filters: {la['filters']}",
            _settled_line(la),
            f"- `Retriever.search` incl. query embedding: p50 **{la['search_p50_ms']:.1f} ms**, p99 **{la['search_p99_ms']:.1f} ms** (targets 30 / 100 ms)",
            f"- learned order ({'on' if la.get('learned_order') else 'off: none configured'}): the same searches in the fused order p50 {la.get('fused_order_p50_ms', float('nan')):.1f} ms; learned / fused {la.get('learned_vs_fused_order_p50', float('nan')):.2f}×",
            f"- engine alone (same queries, vectors precomputed): p50 {la['engine_p50_ms']:.2f} ms, p99 {la['engine_p99_ms']:.2f} ms",
            f"- `search(group_by_doc=True)` (documents ranked from {DOCUMENT_CANDIDATES} chunks, citation-aware), first 100 queries: p50 {la.get('grouped_p50_ms', float('nan')):.1f} ms, {la.get('grouped_vs_search_p50', float('nan')):.1f}× the plain search",
            f"- query embedding alone: p50 {la['query_embed_p50_ms']:.1f} ms",
            (
                f"- fact patterns (`search_documents`, the {la['fact_patterns']} AILA dev "
                f"queries, no filter): p50 {la['fact_pattern_p50_ms']:.1f} ms, "
                f"{la['fact_pattern_vs_grouped_p50']:.1f}× the document ranking of a question"
                if la.get("fact_pattern_p50_ms") is not None
                else "- fact patterns: no AILA dev queries in the corpus"
            ),
            "",
        ]
    if hn:
        lines += [
            "## 4. HNSW recall@10 and recall@100 vs exact search (real embeddings)",
            f"- {hn['points']} points ({hn['indexed_vectors']} in HNSW, m=16, ef_construct=128)",
        ]
        for depth in ("10", "100"):
            recs = ", ".join(
                f"{k.split('_')[1]}: {v:.3f}"
                for k, v in hn.items()
                if k.startswith(f"recall@{depth}_")
            )
            lines.append(f"- {depth} deep: {recs}")
        lines.append("")
    if em:
        lines += [
            "## 5. torch fp32 vs ONNX int8 (AILA statutes, dev queries Q1–Q10, dense only)",
            "| backend | chunks/s | MAP | recall@100 | P@10 |",
            "|---|---|---|---|---|",
        ]
        for b in ("torch", "onnx-int8"):
            e = em[b]
            lines.append(
                f"| {b} | {e['chunks_per_s']:.1f} | {e['map']:.4f} | {e['recall@100']:.4f} | {e['p@10']:.3f} |"
            )
        lines += [
            "",
            f"cosine(fp32, int8) over {em['chunks']} chunks: mean {em['cosine_mean']:.4f}, min {em['cosine_min']:.4f}",
            "",
        ]
    if rr:
        lines += [
            f"## 6. Reranking cost ({rr['model']}, {rr['queries']} queries)",
            f"- `Retriever.search` without reranker: p50 {rr['plain_p50_ms']:.1f} ms, p99 {rr['plain_p99_ms']:.1f} ms",
        ]
        lines += [
            f"- reranking the top {d['depth']}: p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms = **{d['ratio_p50']:.1f}×** at p50"
            for d in rr["depths"]
        ]
        lines += [""]
    if sp:
        lines += [
            f"## 7. Build speed-ups side by side ({sp['passages']} passages, {sp['distinct_texts']} distinct texts, {sp['opinion_passages']} of opinions; same run)",
            f"- raw `SentenceTransformer.encode` of every passage: **{sp['encode_passages_per_s']:.1f} passages/s**",
            "",
            "| pipeline variant | backend | passages/s | × raw encode | embedded | reused | sparse only |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for label, v in sp["variants"].items():
            lines.append(
                f"| {label} | {v['backend']} | {v['passages_per_s']:.1f} | {v['vs_encode']:.2f} | {v['embedded']} | {v['reused']} | {v['sparse_only']} |"
            )
        lines.append("")
    if inc:
        lines += [
            "## 8. Nightly sync of a new ruling (PDF in the incoming folder) until searchable",
            f"- index: {inc['index']} ({inc['points_before']} points); PDF {inc['pdf']} ({inc['pdf_bytes']:,} bytes), {inc['passages_indexed']} passages indexed (no embedding cache)",
            f"- sync {inc['sync_seconds']:.1f} s; found by a search **{inc['searchable_seconds']:.1f} s** after the drop (target < 60 s); found: {inc['found']}",
            "",
        ]
    if co:
        secs = co.get("seconds")
        lines += [
            "## 9. Whole-corpus build",
            f"- {co['origin']}: build {co.get('build')}, whole corpus: {co.get('whole_corpus')}, "
            + (f"**{secs / 60:.1f} min**" if secs else "no time recorded")
            + f" for {co.get('passages')} passages ({co.get('rate_per_s')} passages/s), finished {co.get('finished_at')}",
            "",
        ]
    return "\n".join(lines)


def _speed_units(corpus: Path) -> list[SourceUnit]:
    """A slice with the corpus's mix: a US Code title in both editions, Federal Rules with
    their yearly versions, GDPR articles, and whole AILA judgments (the long opinions that
    are about 70 % of the bundled corpus's passages)."""
    units = [u for u in discover_units(corpus, ["uscode"]) if u.key == "t4"]
    units += discover_units(corpus, ["federal_rules"])[:12]
    units += discover_units(corpus, ["aila/casedocs"])[:6]
    return units


def bench_speedups(settings: IndexSettings, work: Path) -> dict[str, Any]:
    """Candidate speed-ups side by side on one slice, each a whole pipeline run into a fresh
    build with no embedding cache, against raw `encode` of every passage in the same run."""
    from indexing.chunking import Chunker
    from indexing.ingest import Indexer

    corpus = settings.corpus()
    units = _speed_units(corpus)
    torch_emb = load_embedder(settings.model_dir(), "torch", settings.embed_batch)
    chunker = Chunker(model_token_counter(settings.model_dir()), max_tokens=200)
    docs = list(parse_tracked(units, IngestReport()))
    chunks = [c for d in docs for c in chunker.chunk(d)]
    texts = [embed_text(c) for c in chunks]
    raw_s = raw_encode_seconds(torch_emb, texts, settings.embed_batch)
    out: dict[str, Any] = {
        "passages": len(texts),
        "distinct_texts": len(set(texts)),
        "opinion_passages": sum(1 for c in chunks if c.kind == "opinion"),
        "units": len(units),
        "encode_seconds": raw_s,
        "encode_passages_per_s": len(texts) / raw_s,
        "variants": {},
    }
    budget = settings.dense_opinion_passages or 8
    variants: list[tuple[str, str, dict[str, Any], int]] = [
        ("before: every passage embedded, calls of 256", "torch", {"dedup": False}, 8),
        ("+ each distinct text once", "torch", {"dedup": True}, 8),
        (f"+ dense vectors for the first {budget} passages of an opinion", "torch",
         {"dedup": True, "dense_opinion_passages": budget}, 8),
        ("same, calls of 1024 (longer length-sorted runs)", "torch",
         {"dedup": True, "dense_opinion_passages": budget}, 32),
        ("same as the third, ONNX int8", "onnx-int8",
         {"dedup": True, "dense_opinion_passages": budget}, 8),
    ]  # fmt: skip
    for label, backend, kw, per_call in variants:
        emb = load_embedder(settings.model_dir(), backend, settings.embed_batch, work / "onnx")
        emb.encode(texts[:8])  # loaded (and, for ONNX, exported) before the clock starts
        indexer = Indexer(emb, chunker, Bm25Encoder(), settings.embed_batch * per_call, **kw)
        catalog = EdgeCatalog(work / f"speed-{len(out['variants'])}", settings.collection)
        store = catalog.create(new_build_name(settings.collection), emb.dim)
        t0 = time.perf_counter()
        stats = indexer.run(iter(docs), store, progress=False)
        store.flush()
        secs = time.perf_counter() - t0
        store.close()
        out["variants"][label] = {
            "backend": backend,
            "seconds": secs,
            "passages_per_s": stats.chunks / secs,
            "vs_encode": (stats.chunks / secs) / (len(texts) / raw_s),
            "embedded": stats.embedded,
            "reused": stats.reused,
            "sparse_only": stats.sparse_only,
        }
        log.info("speedups: %s: %.1f passages/s", label, stats.chunks / secs)
    return out


def bench_incoming(
    settings: IndexSettings, work: Path, index_root: Path | None, pdf: Path | None = None
) -> dict[str, Any]:
    """A new ruling (a PDF dropped into the incoming folder) until a search finds it: the
    nightly `sync --incoming`, timed on a copy of `index_root` (the whole-corpus index when
    given) or on a small index of GDPR built here. No embedding cache: every passage of the
    ruling is embedded."""
    root = work / "incoming_index"
    s = settings.model_copy(update={"qdrant_path": root, "embed_cache": None, "qdrant_url": None})
    if index_root is not None and (index_root / "builds").is_dir():
        shutil.copytree(index_root, root, ignore=shutil.ignore_patterns(".lock", "*.tmp*"))
        base = "copy of " + str(index_root)
    else:
        run_build(s, sources=["gdpr"], progress=False)
        base = "GDPR index built here"
    catalog = EdgeCatalog(root, s.collection)
    current = catalog.open(catalog.current() or "")
    points_before = current.count()
    current.close()
    # a Tax Court opinion, 86 passages (the two circuit PDFs of the bundle hold 2 each)
    src = pdf or settings.corpus() / "opinions" / "pdf" / "opinion_tax.pdf"
    drop = work / "incoming"
    drop.mkdir(parents=True, exist_ok=True)
    target = drop / f"{src.stem}-nightly{src.suffix}"
    shutil.copy(src, target)  # a new file name is a new ruling (`ruling:<file stem>`)
    doc_id = f"ruling:{target.stem}"
    t0 = time.perf_counter()
    result = run_sync(s, incoming=drop, progress=False)
    synced = time.perf_counter() - t0
    from indexing.retrieve import open_retriever

    retriever = open_retriever(s)
    try:
        hits = retriever.search(
            "court of appeals judgment", top_k=3, filters=SearchFilters(doc_ids=(doc_id,))
        )
    finally:
        retriever.close()
    total = time.perf_counter() - t0
    return {
        "index": base,
        "points_before": points_before,
        "pdf": src.name,
        "pdf_bytes": src.stat().st_size,
        "passages_indexed": result.embedded_chunks,
        "sync_seconds": synced,
        "searchable_seconds": total,
        "found": bool(hits) and all(h.chunk.doc_id == doc_id for h in hits),
    }


def bench_corpus(settings: IndexSettings, index_root: Path, work: Path, build: bool) -> dict:
    """The whole-corpus build time: measured here with `--whole-corpus` (every source, an
    empty embedding cache: about half an hour on 2 cores), else read from the status the last
    build under `index_root` wrote (`indexing.status`), when it covered every source."""
    from indexing.status import read_status
    from legal_corpus.adapters import source_names

    if build:
        root = work / "corpus_index"
        s = settings.model_copy(
            update={"qdrant_path": root, "embed_cache": work / "corpus_cache", "qdrant_url": None}
        )
        result = run_build(s, progress=True)
        status = read_status(root, s.collection) or {}
        origin = "built by this run (empty embedding cache)"
    else:
        status = read_status(index_root, settings.collection) or {}
        origin = f"status of the last build under {index_root}"
        result = None
    sources = status.get("sources") or {}
    whole = set(source_names(None)) <= set(sources) and all(
        v.get("state") == "done" for v in sources.values()
    )
    return {
        "origin": origin,
        "build": status.get("build"),
        "whole_corpus": whole and status.get("state") == "complete",
        "seconds": result.seconds if result is not None else status.get("elapsed_s"),
        "passages": status.get("passages"),
        "finished_at": status.get("updated_at"),
        "rate_per_s": status.get("rate_per_s"),
    }


def run_bench(settings: IndexSettings, out: Path, args: argparse.Namespace) -> int:
    """Run the benchmarks and write `indexing.json` / `indexing.md` into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs, Python {platform.python_version()}",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "args": {"sample": args.sample, "queries": args.queries},
    }
    parts = set(args.only.split(","))
    previous = out / "indexing.json"
    if previous.exists() and parts != set(ALL_PARTS):
        # a partial run updates the parts it measures and keeps the others
        old = json.loads(previous.read_text())
        res = {**{k: v for k, v in old.items() if k in ALL_PARTS}, **res}
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=str(settings.qdrant_path.parent)))
    try:
        if "throughput" in parts:
            res["throughput"] = bench_throughput(settings, args.sample, work)
            _save(out, res)
        if "sync" in parts:
            res["sync"] = bench_sync(settings, work, args.sync_docs)
            _save(out, res)
        raw = load_embedder(settings.model_dir(), "torch", settings.embed_batch)
        latency_root = Path(args.latency_index) if args.latency_index else work / "throughput"
        if "latency" in parts:
            res["latency"] = bench_latency(settings, latency_root, args.queries, raw)
            res["latency"]["index"] = str(latency_root)
            _save(out, res)
        if "hnsw" in parts:
            res["hnsw"] = bench_hnsw_recall(latency_root, settings.collection, work, raw)
            _save(out, res)
        if "embeddings" in parts:
            res["embeddings"] = bench_embeddings(settings, work, min(args.sample, 300))
            _save(out, res)
        if "rerank" in parts:
            res["rerank"] = bench_rerank(settings, latency_root, args.queries, raw, work)
            _save(out, res)
        if "speedups" in parts:
            res["speedups"] = bench_speedups(settings, work)
            _save(out, res)
        if "incoming" in parts:
            given = Path(args.latency_index) if args.latency_index else None
            res["incoming"] = bench_incoming(settings, work, given)
            _save(out, res)
        if "corpus" in parts:
            corpus_root = Path(args.latency_index) if args.latency_index else settings.qdrant_path
            res["corpus"] = bench_corpus(
                settings, corpus_root, work, getattr(args, "whole_corpus", False)
            )
            _save(out, res)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(_markdown(res))
    return 0


def _save(out: Path, res: dict[str, Any]) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for part in ALL_PARTS:
        if isinstance(res.get(part), dict):
            res[part].setdefault("measured_at", stamp)
    (out / "indexing.json").write_text(json.dumps(res, indent=2, default=str))
    (out / "indexing.md").write_text(_markdown(res))
