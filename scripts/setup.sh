#!/usr/bin/env bash
# Installs everything Snapline needs on a fresh Debian machine of this kind and
# builds it. Safe to run twice: each step is skipped or fast when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

log() { printf '\n== %s\n' "$*"; }

# System packages (as root). The C compiler builds the bundled SQLite and zstd.
if ! command -v cc >/dev/null || ! command -v git >/dev/null; then
  log "apt packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential git >/dev/null
fi

PYTHON=${SNAPLINE_SETUP_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  log "Python virtual environment (.venv, $($PYTHON --version))"
  "$PYTHON" -m venv .venv
fi
log "Python packages"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r scripts/requirements-dev.txt

log "cargo build (release)"
cargo build --release -q -p snapline-cli
install -m 755 target/release/snapline .venv/bin/snapline

log "capture agent (maturin wheel, abi3)"
rm -rf target/wheels
.venv/bin/maturin build --release -q -m capture-agent/Cargo.toml -i .venv/bin/python -o target/wheels
.venv/bin/python -m pip install -q --force-reinstall --no-deps target/wheels/snapline-*.whl
.venv/bin/python -m pip install -q cloudpickle

log "ready: .venv/bin/snapline and .venv/bin/python -m snapline"
