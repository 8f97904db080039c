#!/usr/bin/env bash
# Sets everything up and runs every check and test: formatting, lints, Rust
# tests, the agent's Python tests on 3.11 and on 3.12+/3.13, and the
# end-to-end tests that capture real training scripts. Safe to run twice.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

log() { printf '\n== %s\n' "$*"; }

# A second interpreter, 3.12 or newer, for the agent's tests (abi3 wheel).
NEWER=""
for candidate in /root/.pyenv/versions/3.13*/bin/python3 /root/.pyenv/versions/3.12*/bin/python3 \
                 "$(command -v python3.13 || true)" "$(command -v python3.12 || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then NEWER=$candidate; break; fi
done
if [ -n "$NEWER" ]; then
  VENV2=.venv-newer
  log "second Python for the agent tests: $($NEWER --version) in $VENV2"
  [ -x $VENV2/bin/python ] || "$NEWER" -m venv $VENV2
  $VENV2/bin/python -m pip install -q --upgrade pip
  $VENV2/bin/python -m pip install -q pytest numpy cloudpickle ipykernel jupyter_client pandas selenium
  $VENV2/bin/python -m pip install -q --force-reinstall --no-deps target/wheels/snapline-*.whl
else
  echo "WARNING: no Python 3.12+ found (pyenv or PATH); the agent runs only on $(.venv/bin/python --version)"
fi

log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy -D warnings"
cargo clippy --release --workspace --all-targets -q -- -D warnings
log "ruff"
.venv/bin/ruff check capture-agent tests examples bench
log "mypy (strict on the agent package; capture-agent/mypy.ini)"
(cd capture-agent && ../.venv/bin/python -m mypy)
log "ui: eslint and vitest (tsc ran in the setup's build)"
(cd ui && npm run --silent lint && npm test --silent)

log "Rust tests"
cargo test --release --workspace --exclude snapline-agent -q 2>&1 | grep -v '^$'
# The agent's own unit tests (chunk_memory.rs, delta chains, RNG words): its library only.
cargo test --release -p snapline-agent --lib -q 2>&1 | grep -v '^$'

log "benchmark harness, smoke mode (tiny sizes; figures are not checked)"
.venv/bin/python bench/capture_bench.py --smoke > /dev/null
.venv/bin/python bench/restore_bench.py --smoke > /dev/null
.venv/bin/python bench/nan_hooks_bench.py --smoke > /dev/null
.venv/bin/python bench/bundle_bench.py --smoke > /dev/null
.venv/bin/python bench/loop_metrics_bench.py --smoke > /dev/null
.venv/bin/python bench/frameworks_bench.py --smoke > /dev/null
.venv/bin/python bench/ddp_bench.py --smoke > /dev/null
.venv/bin/python bench/remote_bench.py --smoke > /dev/null
.venv/bin/python bench/workloads_bench.py --smoke > /dev/null   # also sets up .venv-bench (Kishu)
.venv/bin/python bench/notebook_cost_bench.py --smoke > /dev/null
.venv/bin/python bench/notebook_cost_bench.py --smoke --attribute 2> /dev/null

log "fuzz targets, briefly (cargo-fuzz on nightly; longer runs: fuzz/README.md)"
if cargo +nightly --version > /dev/null 2>&1 && cargo fuzz --version > /dev/null 2>&1; then
  for target in bundle_reader catalog_rows; do
    corpus=$(mktemp -d)
    (cd fuzz && cargo +nightly fuzz run -O "$target" "$corpus" "seeds/$target" -- \
       -max_total_time=15 -max_len=65536 -malloc_limit_mb=512 2>&1 | tail -n 2)
    rm -rf "$corpus"
  done
else
  echo "skipped: no nightly toolchain or no cargo-fuzz here (crates/bundle/tests/hostile.rs still mutates bundles)"
fi

log "desktop app package (.deb: app, CLI, desktop entry, .snapline association)"
DEB=$(bash packaging/build-deb.sh | tail -n 1)
dpkg-deb --contents "$DEB" > target/deb-contents.txt
for f in ./usr/bin/snapline-app ./usr/bin/snapline ./usr/share/applications/Snapline.desktop \
         ./usr/share/mime/packages/snapline.xml ./usr/share/icons/hicolor/128x128/apps/snapline-app.png; do
  grep -q " ${f#./}\$\| $f\$" target/deb-contents.txt || { echo "missing from $DEB: $f"; exit 1; }
done
grep -q 'usr/share/snapline/snapline-.*\.whl$' target/deb-contents.txt \
  || { echo "missing from $DEB: the wheel under /usr/share/snapline/"; exit 1; }
dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/share/applications/Snapline.desktop 2>/dev/null \
  | grep -q '^MimeType=application/x-snapline-bundle;' \
  || dpkg-deb --fsys-tarfile "$DEB" | tar -xO usr/share/applications/Snapline.desktop \
  | grep -q '^MimeType=application/x-snapline-bundle;' || { echo "no .snapline association"; exit 1; }
echo "$DEB"

log "tauri-driver (the desktop app's end-to-end tests drive it through WebKitWebDriver)"
if [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  cargo install -q tauri-driver --locked --version ^2
fi
log "desktop app benchmark, smoke mode (the real window under Xvfb; figures are not checked)"
.venv/bin/python bench/app_bench.py --smoke > /dev/null

log "Python tests on $(.venv/bin/python --version)"
.venv/bin/python -m pytest capture-agent/tests tests/e2e -q -p no:cacheprovider

if [ -n "$NEWER" ]; then
  log "Python tests on $($VENV2/bin/python --version)"
  SNAPLINE_TEST_PYTHON=$PWD/$VENV2/bin/python $VENV2/bin/python -m pytest \
    capture-agent/tests tests/e2e -q -p no:cacheprovider
fi
log "all checks passed"
