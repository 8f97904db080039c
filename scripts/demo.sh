#!/usr/bin/env bash
# The main job: set up, capture a PyTorch training run, show what was captured,
# resume it from an epoch and restore a state.
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

# Time travel: resume the run from the start of its third epoch (a new run
# branching from that snapshot), then open the state of epoch 2 and look at it.
EPOCH2=$($S log last --json | .venv/bin/python -c \
  'import json,sys; print(next(r["seq"] for r in json.load(sys.stdin) if r["trigger"] == "iteration" and r["loops"] == [2]))')
RUN=$($S runs --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
step "snapline restore $RUN@$EPOCH2 --resume"
$S restore "$RUN@$EPOCH2" --resume
step "snapline runs"
$S runs
step "snapline restore $RUN@$EPOCH2 -c 'print(model[0].weight.shape, optimizer.param_groups[0][\"params\"][0] is model[0].weight)'"
$S restore "$RUN@$EPOCH2" -c 'print(model[0].weight.shape, optimizer.param_groups[0]["params"][0] is model[0].weight)'
