"""The evaluation lab: how well and how fast retrieval works — not part of the product.

Nothing in the product imports it, and the container images leave it (and the `eval` extra's
libraries: bm25s, PyStemmer, ir-measures, pytrec-eval, matplotlib) out. `python -m indexing`
registers its commands when it is installed: `eval` (`evaluate.py`), `report` (`report.py`,
`make eval`), `citing-bench` (`citing.py`), `eval-questions` (`questions.py`, with the
bundled `benchmarks/`), `crossval`, `eval-doctrine`, `calibrate-relevance`, `calibrate-order`
and more, and runs `bench` (`bench.py`, `make bench`). Underneath: `metrics.py` (TREC files,
measures), `rankers.py` (the `bm25s` baseline), `index_ranker.py` (the product's retriever as
a document ranker). What each measured, and how: `README.md` beside this file.
"""
