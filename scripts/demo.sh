#!/usr/bin/env bash
# The main job: set up, capture a PyTorch training run, and show what was captured.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export SNAPLINE_STORE=$PWD/.snapline
S=.venv/bin/snapline
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "snapline run examples/torch_classifier.py --epochs 5"
$S run examples/torch_classifier.py --epochs 5
step "snapline runs"
$S runs
step "snapline log last"
$S log last
step "snapline show last"
$S show last
step "snapline show last 'model.0.weight'"
$S show last 'model.0.weight'
step "snapline metrics last epoch_loss"
$S metrics last epoch_loss
