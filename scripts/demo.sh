#!/usr/bin/env bash
# The main job: set up, capture a PyTorch training run, show what was captured,
# resume it from an epoch and restore a state, then open it in the app and the viewer.
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

# What changed between two epochs (the first snapshot of each), where NaN
# first appeared (a healthy run: nowhere), and the loss curve as a picture.
SEQS=$($S log last --json | .venv/bin/python -c \
  'import json,sys; r=[s["seq"] for s in json.load(sys.stdin) if s["trigger"] == "iteration" and len(s["loops"]) == 1]; print(r[0], r[1])')
set -- $SEQS
step "snapline diff last@$1 last@$2 --elements 2"
$S diff "last@$1" "last@$2" --elements 2 | sed -n '1,40p'  # (sed reads to the end: no SIGPIPE)
step "snapline nan last"
$S nan last
step "snapline plot last epoch_loss --x epoch --log-y -o bench/out/demo_loss.png"
mkdir -p bench/out
$S plot last epoch_loss --x epoch --log-y -o bench/out/demo_loss.png

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

# The desktop app on the original run (the resume above made a newer one).
# With a display, `snapline open` opens the window; without one (a server,
# CI) the real app runs under Xvfb and a screenshot is saved.
if [ -n "${DISPLAY:-}" ]; then
  step "snapline open --run $RUN"
  $S open --run "$RUN"
else
  step "snapline open --run $RUN  (no display here: the app under Xvfb, screenshot bench/out/demo_app.png)"
  mkdir -p bench/out
  xvfb-run -a -s "-noreset -screen 0 1280x800x24" bash -c '
    .venv/bin/snapline-app --store "$SNAPLINE_STORE" --run "$0" >/dev/null 2>&1 & app=$!
    sleep 12
    import -window root bench/out/demo_app.png
    kill $app; wait $app 2>/dev/null || true' "$RUN"
  echo "wrote bench/out/demo_app.png"
fi

# The native viewer that ships in the wheel, on the same run.
if [ -n "${DISPLAY:-}" ]; then
  step "snapline view $RUN"
  $S view "$RUN"
else
  step "snapline view $RUN  (no display here: under Xvfb, screenshot bench/out/demo_view.png)"
  xvfb-run -a -s "-noreset -screen 0 1400x860x24" bash -c '
    .venv/bin/snapline view "$0" >/dev/null 2>&1 & viewer=$!
    sleep 6
    import -window root bench/out/demo_view.png
    kill $viewer; wait $viewer 2>/dev/null || true' "$RUN"
  echo "wrote bench/out/demo_view.png"
fi
