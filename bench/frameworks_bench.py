"""Overhead of the framework integrations (issue #14), for bench/RESULTS.md.

    .venv/bin/python bench/frameworks_bench.py --reps 5    # full run, writes bench/out/frameworks_bench.json
    .venv/bin/python bench/frameworks_bench.py --smoke     # tiny sizes, one rep, prints only (< 60 s)

Each workload runs plain (`python script.py`) and captured (`python -m
snapline run --inner-every 1e9`: the Trainer's steps never snapshot, each
epoch end does: one snapshot per epoch inside training, besides the
statement and exit snapshots), interleaved (the order alternates every
repetition), N repetitions. Two figures, medians of per-repetition ratios:

- train: the time of the training call itself (`trainer.train()` /
  `trainer.fit()`, timed by the script), where the integration works;
- process: the whole process, imports and start-up included.

Workloads (synthetic data, one thread, CPU):

1. hf: a Hugging Face `Trainer` on a small randomly initialised BERT
   (sequence classification), logging every 10 steps;
2. lightning: a `LightningModule` MLP under `lightning.Trainer`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = os.environ.get("SNAPLINE_TEST_PYTHON", str(REPO / ".venv" / "bin" / "python"))

HF = textwrap.dedent("""
    import sys
    import time

    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

    torch.set_num_threads(1)
    torch.manual_seed(0)
    samples, epochs, hidden = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])


    class RandomIds(torch.utils.data.Dataset):
        def __init__(self, n, length=32):
            g = torch.Generator().manual_seed(1)
            self.ids = torch.randint(1, 1000, (n, length), generator=g)
            self.labels = (self.ids[:, 0] % 2).long()

        def __len__(self):
            return len(self.ids)

        def __getitem__(self, i):
            return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]),
                    "labels": self.labels[i]}


    config = BertConfig(vocab_size=1000, hidden_size=hidden, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=hidden * 4)
    model = BertForSequenceClassification(config)
    args = TrainingArguments(output_dir=sys.argv[1], num_train_epochs=epochs,
                             per_device_train_batch_size=16, logging_steps=10,
                             save_strategy="no", report_to=[], use_cpu=True, seed=0,
                             disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=RandomIds(samples))
    started = time.perf_counter()
    trainer.train()
    print(f"TRAIN_SECONDS {time.perf_counter() - started:.6f}")
""")

LIGHTNING = textwrap.dedent("""
    import sys
    import time

    import lightning as L
    import torch
    from torch import nn

    torch.set_num_threads(1)
    L.seed_everything(0, verbose=False)
    samples, epochs, hidden = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])


    class MLP(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(32, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                     nn.ReLU(), nn.Linear(hidden, 1))

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)


    x = torch.randn(samples, 32)
    y = x.sum(dim=1, keepdim=True)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64,
                                         shuffle=True)
    model = MLP()
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    started = time.perf_counter()
    trainer.fit(model, loader)
    print(f"TRAIN_SECONDS {time.perf_counter() - started:.6f}")
""")

# name -> (source, module it needs, full args (samples, epochs, hidden), smoke args)
WORKLOADS = {
    "hf": (HF, "transformers", ["2048", "3", "128"], ["128", "2", "32"]),
    "lightning": (LIGHTNING, "lightning", ["65536", "3", "256"], ["1024", "2", "32"]),
}
MODES = ("plain", "capture")


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPLINE_")}
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                "PYTHONHASHSEED": "0"})
    return env


def timed(cmd: list) -> tuple:
    """(process seconds, training seconds the script printed)."""
    started = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=_env())
    total = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    train = next(float(line.split()[1]) for line in done.stdout.splitlines()
                 if line.startswith("TRAIN_SECONDS"))
    return total, train


def command(mode: str, script: str, args: list, store: str, out: str) -> list:
    if mode == "plain":
        return [PYTHON, script, out, *args]
    return [PYTHON, "-m", "snapline", "run", "--store", store, "--inner-every", "1e9",
            script, out, *args]


def snapshots_in_training(store: str) -> int:
    done = subprocess.run([str(REPO / ".venv" / "bin" / "snapline"), "--store", store, "log",
                           "last", "--json"], check=True, capture_output=True, text=True)
    return sum(1 for row in json.loads(done.stdout)
               if (row.get("label") or "").startswith(("epoch", "step")))


def measure(name: str, script: str, args: list, reps: int, tmp: str) -> dict:
    times: dict = {mode: {"process": [], "train": []} for mode in MODES}
    inside = 0
    for rep in range(reps):
        order = MODES if rep % 2 == 0 else MODES[::-1]
        for mode in order:
            store = os.path.join(tmp, f"{name}-{rep}")
            total, train = timed(command(mode, script, args, store,
                                         os.path.join(tmp, f"out-{name}-{mode}-{rep}")))
            times[mode]["process"].append(total)
            times[mode]["train"].append(train)
            if mode == "capture":
                inside = snapshots_in_training(store)
    result: dict = {"args": args, "reps": reps, "snapshots_in_training": inside}
    for part in ("train", "process"):
        plain, capture = times["plain"][part], times["capture"][part]
        ratios = [c / p for p, c in zip(plain, capture)]
        result[part] = {"plain_median_s": statistics.median(plain),
                        "capture_median_s": statistics.median(capture),
                        "ratio_median": statistics.median(ratios),
                        "ratio_min": min(ratios), "ratio_max": max(ratios)}
    return result


def available(module: str) -> bool:
    return subprocess.run([PYTHON, "-c", f"import {module}"], capture_output=True,
                          check=False).returncode == 0


def table(report: dict) -> str:
    lines = [("| workload | snapshots in training | train plain | train captured | train ratio "
              "(min-max) | process ratio |"), "|---|---|---|---|---|---|"]
    for name, r in report["workloads"].items():
        t, p = r["train"], r["process"]
        lines.append(f"| {name} | {r['snapshots_in_training']} | {t['plain_median_s']:.2f} s | "
                     f"{t['capture_median_s']:.2f} s | {t['ratio_median']:.3f} "
                     f"({t['ratio_min']:.3f}-{t['ratio_max']:.3f}) | {p['ratio_median']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one rep, no file")
    ns = parser.parse_args()
    reps = 1 if ns.smoke else ns.reps
    report: dict = {"python": sys.version.split()[0], "reps": reps, "workloads": {}}
    with tempfile.TemporaryDirectory(prefix="snapline-frameworks-bench-") as tmp:
        for name, (source, module, full, smoke) in WORKLOADS.items():
            if not available(module):
                print(f"{name}: skipped ({module} is not installed)")
                continue
            script = os.path.join(tmp, f"train_{name}.py")  # not `lightning.py`: it would shadow the package
            Path(script).write_text(source)
            report["workloads"][name] = measure(name, script, smoke if ns.smoke else full,
                                                reps, tmp)
    print(table(report))
    if not ns.smoke:
        out = REPO / "bench" / "out" / "frameworks_bench.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2))
        print(f"written: {out}")


if __name__ == "__main__":
    main()
