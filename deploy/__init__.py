"""Deployment of Juris: Kubernetes manifests (deploy/k8s), container files (deploy/docker).

The Python modules here are tooling, not application logic: an offline renderer of the
kustomize subset the manifests use (`deploy.kustomize`), the policy check of rendered manifests
(`deploy.policy`), a Dockerfile lint (`deploy.dockerfile`) and the CLI `python -m deploy`.
"""
