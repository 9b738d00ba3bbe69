"""Deployment of Juris: Kubernetes manifests (deploy/k8s), container files (deploy/docker).

The Python modules here are tooling, not application logic, run by `python -m deploy check`
(`make deploy-check`): rendering with `kubectl kustomize` (`deploy.manifests`), checkov on the
rendered objects and the Dockerfiles (`deploy.checkov`), and what no standard tool checks —
Juris's policy (`deploy.policy`), its Dockerfile rules (`deploy.dockerfile`), vLLM's arguments
(`deploy.vllm_args`), the images' imports (`deploy.image`) — plus the image digests
(`deploy.pin`, `make deploy-pin-images`).
"""
