#!/usr/bin/env bash
# Builds the six images with podman, one at a time, the way tests/images does:
#   bash scripts/build-images.sh [TAG]        -> localhost/quoteflow-<target>:TAG
# Over the stand-in base (scripts/podman-base.sh) unless PYTHON_IMAGE is set, e.g. to
# the Dockerfile's default python:3.11.11-slim-bookworm where a registry is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${1:-dev}
PYTHON_IMAGE=${PYTHON_IMAGE:-localhost/pybase:3.11}
[ "$PYTHON_IMAGE" != localhost/pybase:3.11 ] || bash scripts/podman-base.sh
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE=$(git remote get-url origin 2>/dev/null || echo "file://$PWD")
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
for target in preprocess inference router desk training models; do
  podman --runtime /usr/sbin/runc --cgroup-manager cgroupfs build --network host --pull=never \
    --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" --target "$target" -t "localhost/quoteflow-$target:$TAG" \
    --build-arg "REVISION=$REVISION" --build-arg "SOURCE=$SOURCE" --build-arg "VERSION=$VERSION" .
done
podman images --filter "reference=localhost/quoteflow-*:$TAG"
