#!/usr/bin/env bash
# Builds the desktop app's .deb: the app (snapline-app), the `snapline` CLI
# beside it, the desktop entry with its icon and the .snapline file
# association, and the wheel (the capture agent) under /usr/share/snapline/
# for `pip install` into the user's own environment. Run after
# `bash scripts/setup.sh`. Prints the .deb's path.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x packaging/node_modules/.bin/tauri ]; then
  # `npm install`, not `npm ci`: the lock names the CLI's prebuilt binaries
  # for every platform, and registry mirrors that carry only this one's make
  # `npm ci` refuse the lock. The versions are still the lock's.
  (cd packaging && npm install --no-audit --no-fund --loglevel=error)
fi
(cd ui && npm run --silent build >/dev/null)
cargo build --release -q -p snapline-cli
# The agent's wheel, shipped as a file (tauri.conf.json: /usr/share/snapline).
WHEEL=$(bash packaging/build-wheel.sh | tail -n 1)
rm -rf target/deb-wheel
mkdir -p target/deb-wheel
cp "$WHEEL" target/deb-wheel/
# The Tauri CLI finds src-tauri/tauri.conf.json from here and builds the
# release app with its custom-protocol feature.
packaging/node_modules/.bin/tauri build --no-bundle --ci > target/tauri-build.log 2>&1 \
  || { tail -n 30 target/tauri-build.log; exit 1; }
# The release profile keeps line tables (for profiling); the package does not.
mkdir -p target/deb-bin
strip -o target/deb-bin/snapline target/release/snapline
strip -o target/deb-bin/snapline-app-stripped target/release/snapline-app
cp target/release/snapline-app target/deb-bin/snapline-app-full
cp target/deb-bin/snapline-app-stripped target/release/snapline-app
packaging/node_modules/.bin/tauri bundle --bundles deb --ci >> target/tauri-build.log 2>&1 \
  || { cp target/deb-bin/snapline-app-full target/release/snapline-app; tail -n 30 target/tauri-build.log; exit 1; }
cp target/deb-bin/snapline-app-full target/release/snapline-app
ls -1 target/release/bundle/deb/*.deb
