#!/usr/bin/env bash
# Builds the one wheel a Python user installs: the capture agent (abi3,
# CPython 3.9+) and the `snapline` CLI binary, native viewer included, as a
# command in the venv's bin/. Run after `bash scripts/setup.sh` (or from it).
# Safe to run twice. Prints the wheel's path (last line).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${SNAPLINE_WHEEL_PYTHON:-.venv/bin/python}
MATURIN=${SNAPLINE_MATURIN:-.venv/bin/maturin}

cargo build --release -q -p snapline-cli

# maturin's default data directory for the module `snapline._native`: what
# is under scripts/ lands in the venv's bin/. Stripped: the release profile
# keeps line tables for profiling, the wheel does not need them.
STAGE=capture-agent/snapline._native.data
rm -rf "$STAGE"
mkdir -p "$STAGE/scripts"
strip -o "$STAGE/scripts/snapline" target/release/snapline
chmod 755 "$STAGE/scripts/snapline"

# The tag: the newest glibc symbol version the binary needs (maturin audits
# only the extension, and fails if that needs more). packaging/README.md,
# "The wheel".
NEWEST=$(objdump -T "$STAGE/scripts/snapline" | grep -o 'GLIBC_2\.[0-9]*' | sort -uV | tail -n 1)
MINOR=${NEWEST#GLIBC_2.}
[ -n "$MINOR" ] && [ "$MINOR" -ge 17 ] || MINOR=17
COMPATIBILITY=${SNAPLINE_WHEEL_COMPATIBILITY:-manylinux_2_$MINOR}

rm -f target/wheels/snapline-*.whl
"$MATURIN" build --release --strip -q -m capture-agent/Cargo.toml -i "$PYTHON" \
  --compatibility "$COMPATIBILITY" -o target/wheels >&2
ls -1 target/wheels/snapline-*.whl
