"""Deployment of Juris: Kubernetes manifests (deploy/k8s), container files (deploy/docker).

The Python modules here are tooling, not application logic: rendering with `kubectl kustomize`
(`deploy.manifests`), the policy check of rendered manifests
(`deploy.policy`), a Dockerfile lint (`deploy.dockerfile`) and the CLI `python -m deploy`.
"""
