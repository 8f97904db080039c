#!/usr/bin/env bash
# Installs everything Snapline needs on a fresh Debian machine of this kind and
# builds it. Safe to run twice: each step is skipped or fast when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

log() { printf '\n== %s\n' "$*"; }

# A fresh build and its environments take about 12 GB (target/ 6 GB, .venv with
# torch 6.5 GB). Say so at the start rather than fail later in a linker.
FREE_KB=$(df -Pk . | awk 'NR == 2 { print $4 }')
if [ -n "$FREE_KB" ] && [ "$FREE_KB" -lt $((12 * 1024 * 1024)) ] && [ ! -d target/release ]; then
  echo "WARNING: only $((FREE_KB / 1024 / 1024)) GB free on $(df -P . | awk 'NR == 2 { print $6 }'); a fresh build needs about 12 GB (free some space if the build fails)" >&2
fi

# System packages (as root). The C compiler builds the bundled SQLite and zstd.
if ! command -v cc >/dev/null || ! command -v git >/dev/null; then
  log "apt packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential git >/dev/null
fi

# The desktop app: WebKitGTK and GTK for Tauri; Xvfb, WebKitWebDriver and
# ImageMagick for its end-to-end tests and screenshots (../shared/TOOLCHAIN.md).
APP_PACKAGES="libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
  libxdo-dev libssl-dev pkg-config file xvfb xauth imagemagick xdotool webkit2gtk-driver
  libgl1-mesa-dri libfontconfig1-dev libfreetype-dev mesa-vulkan-drivers libvulkan1"
# mesa-vulkan-drivers + libvulkan1: lavapipe, the software Vulkan the viewer's
# egui_kittest snapshot tests render with (crates/viewer/tests).
if ! pkg-config --exists webkit2gtk-4.1 2>/dev/null || ! command -v Xvfb >/dev/null \
   || ! command -v WebKitWebDriver >/dev/null || ! ls /usr/share/vulkan/icd.d/lvp_icd.*json >/dev/null 2>&1; then
  log "apt packages for the desktop app"
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APP_PACKAGES >/dev/null
fi
if ! command -v npm >/dev/null; then
  log "apt packages: Node.js and npm (the app's front end)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
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

log "desktop app front end (ui/: npm ci, vite build)"
if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi
(cd ui && npm run --silent build >/dev/null)

log "desktop app (cargo build --release -p snapline-app)"
cargo build --release -q -p snapline-app
install -m 755 target/release/snapline-app .venv/bin/snapline-app

log "the wheel: capture agent (abi3) + the snapline CLI and viewer (packaging/build-wheel.sh)"
WHEEL=$(bash packaging/build-wheel.sh | tail -n 1)
.venv/bin/python -m pip install -q --force-reinstall --no-deps "$WHEEL"
.venv/bin/python -m pip install -q cloudpickle

log "ready: .venv/bin/snapline, .venv/bin/python -m snapline and .venv/bin/snapline open (the app)"
