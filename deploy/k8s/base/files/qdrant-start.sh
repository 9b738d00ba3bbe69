#!/bin/bash
# Start one Qdrant peer of the StatefulSet. In distributed mode pod 0 starts the cluster and
# every other pod bootstraps from it over the p2p port (6335) through the headless Service.
set -euo pipefail
# Qdrant reads its API keys from its configuration or QDRANT__* variables only. The keys come
# as files from the Secret (none is in the pod spec); hand them to the Qdrant process alone.
keys="${QDRANT_KEYS_DIR:-/qdrant/secrets}"
QDRANT__SERVICE__API_KEY="$(<"$keys/api-key")"
QDRANT__SERVICE__READ_ONLY_API_KEY="$(<"$keys/read-only-api-key")"
if [ -z "$QDRANT__SERVICE__API_KEY" ] || [ -z "$QDRANT__SERVICE__READ_ONLY_API_KEY" ]; then
  echo "qdrant-start.sh: an API key file in $keys is empty" >&2
  exit 1
fi
export QDRANT__SERVICE__API_KEY QDRANT__SERVICE__READ_ONLY_API_KEY
ordinal="${HOSTNAME##*-}"
peers="qdrant-headless"
if [ "${QDRANT__CLUSTER__ENABLED:-false}" != "true" ]; then
  exec ./entrypoint.sh
fi
if [ "$ordinal" = "0" ]; then
  exec ./entrypoint.sh --uri "http://qdrant-0.${peers}:6335"
fi
exec ./entrypoint.sh --bootstrap "http://qdrant-0.${peers}:6335" \
  --uri "http://qdrant-${ordinal}.${peers}:6335"
