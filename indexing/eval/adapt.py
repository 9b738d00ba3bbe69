"""A domain-adapted embedder for statutes, trained on pairs mined from the corpus, and measured.

    python -m indexing adapt-embedder --out var/models/aila-minilm [--minutes 45] [--pairs 6000]

Judgments say which statute they apply (`indexing.statute_usage`), and the paragraph that
names it is written in the words facts are told in. So each (paragraph mentioning a
statute's reference, the statute's text) pair is a training example for a model that should
put a story next to the provision it engages. This trains the index's MiniLM on such pairs
with sentence-transformers' trainer and `MultipleNegativesRankingLoss` (the other statutes
of a batch are the negatives), on CPU, for at most `--minutes`, then measures what matters
here: the statutes ranked by the dense vector alone for the 30 AILA dev queries, with the
base model and with the adapted one, through the product's own fact-pattern code
(`indexing.fact_patterns`, an in-memory store of the statute chunks). No setting is chosen
on the queries (the pairs come from the corpus; the training length from the time budget),
so both figures are plain dev figures.

The adapted model is not used by the product: see README, "Fact patterns" for
the figures and why (the index would have to be re-embedded with it, and the votes of the
judgments that applied a statute already rank statutes several times better).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PARAGRAPH_CHARS = 600


def mine_pairs(corpus_dir: Path, limit: int, seed: int = 7) -> list[tuple[str, str]]:
    """(paragraph of a judgment that refers to a statute, the statute's title and text).

    The reference keys are the ones `StatuteUsage.mine` matched to the statutes; at most
    `limit` pairs, drawn with a fixed seed, no more than `limit // 20` per statute so that
    the most cited provisions do not fill the set.
    """
    from indexing.eval.rankers import load_source
    from indexing.statute_usage import Statute, StatuteUsage, references

    statutes_src = load_source(corpus_dir, "aila/statutes")
    cases = load_source(corpus_dir, "aila/casedocs")
    statutes = []
    for sid, text in zip(statutes_src.ids, statutes_src.texts, strict=True):
        title = text.split("\n", 1)[0].removeprefix("Title:").strip()
        desc = text.partition("Desc:")[2].strip()
        statutes.append(Statute(f"aila:{sid}", title, desc))
    judgments = [(f"aila:{c}", t) for c, t in zip(cases.ids, cases.texts, strict=True)]
    usage = StatuteUsage.mine(statutes, judgments)
    by_key: dict[Any, str] = {key: sid for sid, key in usage.keys.items()}
    text_of = {s.doc_id: f"{s.title}. {s.text}" for s in statutes}
    per_statute: dict[str, list[str]] = {}
    for _, text in judgments:
        for key, offset in references(text):
            if key not in by_key:
                continue
            sid = by_key[key]
            start = max(0, offset - PARAGRAPH_CHARS // 2)
            per_statute.setdefault(sid, []).append(text[start : start + PARAGRAPH_CHARS])
    rng = random.Random(seed)
    pairs: list[tuple[str, str]] = []
    for sid in sorted(per_statute):
        paragraphs = per_statute[sid]
        rng.shuffle(paragraphs)
        pairs += [(p, text_of[sid]) for p in paragraphs[: max(1, limit // 20)]]
    rng.shuffle(pairs)
    return pairs[:limit]


def train(pairs: list[tuple[str, str]], base: Path, out: Path, minutes: float) -> dict[str, Any]:
    """Fine-tune `base` on the pairs for at most `minutes`; the model is saved to `out`."""
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import TrainerCallback

    class Deadline(TrainerCallback):  # type: ignore[misc]
        def __init__(self, seconds: float) -> None:
            self.end = time.monotonic() + seconds

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> Any:
            if time.monotonic() > self.end:
                control.should_training_stop = True
            return control

    model = SentenceTransformer(str(base), device="cpu")
    model.max_seq_length = 160
    data = Dataset.from_dict({"anchor": [a for a, _ in pairs], "positive": [p for _, p in pairs]})
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=1,
        per_device_train_batch_size=16,
        learning_rate=2e-5,
        warmup_steps=20,
        logging_steps=25,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        seed=7,
    )
    started = time.monotonic()
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=data,
        loss=MultipleNegativesRankingLoss(model),
        callbacks=[Deadline(minutes * 60)],
    )
    result = trainer.train()
    model.save(str(out))
    return {
        "steps": int(result.global_step),
        "pairs_seen": int(result.global_step) * 16,
        "seconds": round(time.monotonic() - started, 1),
        "loss": float(result.training_loss),
    }


def statute_dense_map(corpus_dir: Path, model_dir: Path, settings: Any) -> dict[str, float]:
    """The statutes ranked by the dense vector alone, for the 30 AILA dev queries."""
    from indexing.eval.crossval import RUN_DEPTH, STATUTES, completed_run, dev_queries
    from indexing.eval.memory import memory_store
    from indexing.eval.metrics import evaluate
    from indexing.eval.paths import FactPatternPath
    from indexing.eval.rankers import load_source
    from indexing.fact_patterns import FactPatterns, FactPatternSettings
    from indexing.retrieve import query_windows
    from indexing.sparse import Bm25Encoder
    from indexing.statute_usage import StatuteUsage
    from legal_corpus.citation_graph import CitationGraph

    model_settings = settings.model_copy(update={"embed_model": model_dir})
    ids = load_source(corpus_dir, "aila/statutes").ids
    store = memory_store(corpus_dir, ("aila/statutes",), model_settings, only_docs=list(ids))
    from indexing.build import make_embedder
    from indexing.chunking import model_token_counter

    embedder = make_embedder(model_settings, cached=False)
    count = model_token_counter(model_dir)
    patterns = FactPatterns(
        store,  # type: ignore[arg-type]
        lambda texts: embedder.encode(texts),
        Bm25Encoder(),
        lambda q: query_windows(q, count, min(200, embedder.max_tokens - 16)),
        store.term_counts,
    )
    path = FactPatternPath("in memory", patterns, CitationGraph([], []), StatuteUsage({}))
    queries, qrels = dev_queries(corpus_dir)
    settings_ = FactPatternSettings(neighbours=0, statute_text_weight=1.0)
    run = {
        q: completed_run(path.scores(t, "aila/statutes", settings_, "dense"), ids, RUN_DEPTH)
        for q, t in queries.items()
    }
    return evaluate(qrels[STATUTES], run)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Register the `adapt-embedder` subcommand on the `python -m indexing` parser."""
    p = subparsers.add_parser(
        "adapt-embedder", help="train and measure a statute embedder on pairs mined from AILA"
    )
    p.add_argument("--out", type=Path, default=Path("var/models/aila-minilm"))
    p.add_argument("--corpus", type=Path, help="corpus root (default: JURIS_CORPUS_DIR)")
    p.add_argument("--minutes", type=float, default=45.0, help="training time budget")
    p.add_argument("--pairs", type=int, default=6000, help="training pairs mined")
    p.set_defaults(func=run_cli)
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Execute `adapt-embedder`; returns the exit status."""
    from indexing.settings import IndexSettings

    settings: Any = IndexSettings(**{})
    corpus = args.corpus or settings.corpus()
    base = settings.model_dir()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    pairs = mine_pairs(corpus, args.pairs)
    if not pairs:
        print("error: no pairs mined", file=sys.stderr)
        return 2
    mined_s = time.monotonic() - started
    trained = train(pairs, base, args.out, args.minutes)
    before = statute_dense_map(corpus, base, settings)
    after = statute_dense_map(corpus, args.out, settings)
    report = {
        "pairs": len(pairs),
        "mining_seconds": round(mined_s, 1),
        "training": trained,
        "statutes_dense_base": before,
        "statutes_dense_adapted": after,
    }
    (args.out / "adapt.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
    return 0
