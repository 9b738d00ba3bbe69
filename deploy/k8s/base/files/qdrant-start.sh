#!/bin/bash
# Start one Qdrant peer of the StatefulSet. In distributed mode pod 0 starts the cluster and
# every other pod bootstraps from it over the p2p port (6335) through the headless Service.
set -euo pipefail
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
