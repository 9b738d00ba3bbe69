"""Benchmarks of the corpus package — lab code, not part of the product.

`bench.py` (`python -m legal_corpus bench`: documents/s and peak memory per adapter) and
`citations_bench.py` (`python -m legal_corpus.citations bench`: citation parsing speed and
counts); `make bench` runs both. Nothing in the product imports them.
"""
