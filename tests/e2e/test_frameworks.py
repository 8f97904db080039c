"""Training inside a framework's loop, with no change to the script: a Hugging
Face `Trainer` on a tiny random BERT and a Lightning `Trainer.fit` on a tiny
MLP get snapshots at their steps and epochs, their logged values as series at
the framework's step, restores with the same weights, and `--resume`
through the framework's own resume path."""

from __future__ import annotations

import json

import pytest
from conftest import line_of, python_has

HF_SCRIPT = """
import sys

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

torch.set_num_threads(1)
torch.manual_seed(0)


class RandomIds(torch.utils.data.Dataset):
    def __init__(self, n, length=8):
        g = torch.Generator().manual_seed(1)
        self.ids = torch.randint(1, 100, (n, length), generator=g)
        self.labels = (self.ids[:, 0] % 2).long()

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]),
                "labels": self.labels[i]}


config = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32)
model = BertForSequenceClassification(config)
args = TrainingArguments(output_dir=sys.argv[1], num_train_epochs=2, per_device_train_batch_size=8,
                         logging_steps=2, save_strategy="no", report_to=[], use_cpu=True, seed=0,
                         disable_tqdm=True)
trainer = Trainer(model=model, args=args, train_dataset=RandomIds(48),
                  eval_dataset=RandomIds(16), )
result = trainer.train()
print(f"trained {result.global_step} steps, loss {result.training_loss:.6f}")
metrics = trainer.evaluate()
print(f"eval loss {metrics['eval_loss']:.6f}")
torch.save(model.state_dict(), sys.argv[2])
"""

LIGHTNING_SCRIPT = """
import sys

import lightning as L
import torch
from torch import nn

torch.set_num_threads(1)
L.seed_everything(0, verbose=False)


class MLP(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        opt = torch.optim.Adam(self.parameters(), lr=0.01)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)]


x = torch.randn(64, 4)
y = x.sum(dim=1, keepdim=True)
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16,
                                     shuffle=True)
model = MLP()
trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False, log_every_n_steps=2)
trainer.fit(model, loader)
print(f"trained {trainer.global_step} steps, loss {float(trainer.callback_metrics['train_loss']):.6f}")
torch.save(model.state_dict(), sys.argv[1])
"""

SAME_WEIGHTS = """
import sys
import torch
saved = torch.load(sys.argv[-1])
state = {k: v for k, v in model.state_dict().items()}
assert saved.keys() == state.keys(), (saved.keys(), state.keys())
print(all(torch.equal(saved[k], state[k]) for k in saved))
"""


def _need(module):
    if not python_has(module):
        pytest.skip(f"{module} is not installed for the test interpreter")


def _same_files(a, b):
    """Two torch.save'd state dicts hold the same tensors (bit for bit)."""
    import subprocess

    from conftest import PYTHON, base_env

    code = ("import sys, torch; a = torch.load(sys.argv[1]); b = torch.load(sys.argv[2]); "
            "print(a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a))")
    done = subprocess.run([PYTHON, "-c", code, str(a), str(b)], env=base_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "True"


def _untimed(text):
    return [line for line in text.splitlines() if "runtime" not in line]


def _series(sl, run_id, name):
    """The points of one metric series (`snapline metrics RUN NAME --json`)."""
    found = sl.cli("metrics", run_id, name)
    assert len(found) == 1, found
    return found[0]["points"]


def _steps_of(points):
    return [p["step"] for p in points]


def test_transformers_trainer(sl, tmp_path, need_torch):
    _need("transformers")
    _need("accelerate")
    script = sl.script(HF_SCRIPT, "train_bert.py")
    plain = sl.plain(script, tmp_path / "out-plain", tmp_path / "plain.pt")
    assert plain.returncode == 0, plain.stderr
    captured = sl.capture(script, tmp_path / "out", tmp_path / "final.pt",
                          opts=("--inner-every", "0"))
    assert captured.returncode == 0, captured.stderr
    # The output is unchanged (but for the Trainer's own timings).
    assert _untimed(captured.stdout) == _untimed(plain.stdout)
    assert _same_files(tmp_path / "plain.pt", tmp_path / "final.pt")

    run_id = sl.last_run()["id"]
    log = sl.log(run_id)
    labels = [row.get("label") for row in log]
    # 48 samples / 8 = 6 steps an epoch, 2 epochs: a snapshot at each step and epoch end.
    assert [f"step {i}" for i in range(1, 13)] == [x for x in labels if x and x.startswith("step")]
    assert "epoch 1" in labels and "epoch 2" in labels
    assert any(x and x.startswith("evaluate") for x in labels)
    inside = next(row for row in log if row.get("label") == "step 3")
    assert inside["trigger"] == "iteration"
    objects = sl.objects(f"{run_id}@{inside['seq']}")
    assert "model" in objects["trainer:model"]["aliases"]  # the script's model, shared
    model_params = [p for p, o in objects.items() if p.startswith("model.")
                    and o["type"].endswith("Parameter")]
    assert objects["trainer:optimizer"]["type"].endswith("AdamW")
    assert "trainer:lr_scheduler" in objects and "trainer:trainer_state" in objects

    # The logged loss: one point per logging step (2), at the Trainer's global step.
    assert _steps_of(_series(sl, run_id, "loss")) == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    assert [p["epoch"] for p in _series(sl, run_id, "loss")] == [0, 0, 0, 1, 1, 1]
    assert _steps_of(_series(sl, run_id, "learning_rate")) == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    assert _steps_of(_series(sl, run_id, "grad_norm")) == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    assert _steps_of(_series(sl, run_id, "eval_loss")) == [12.0]

    # Restore: the model at the last epoch end holds the final weights.
    last_epoch = max(row["seq"] for row in log if row.get("label") == "epoch 2")
    restored = sl.cli_raw("restore", f"{run_id}@{last_epoch}", "-c", SAME_WEIGHTS,
                          json_out=False)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip().splitlines()[-1] == "True"
    check = sl.cli_raw("restore", f"{run_id}@{inside['seq']}", "-c",
                       "print(type(optimizer).__name__, len(optimizer.state), "
                       "trainer_state.global_step, model is trainer.model)",
                       json_out=False)
    assert check.returncode == 0, check.stderr
    assert check.stdout.split()[-4:] == ["AdamW", str(len(list(model_params))), "3", "True"]

    # Resume from step 3 (mid-epoch 1) through the Trainer's own resume path.
    # (The script runs again with its own arguments: it writes final.pt again.)
    (tmp_path / "final.pt").rename(tmp_path / "original.pt")
    resumed = sl.cli_raw("restore", f"{run_id}@{inside['seq']}", "--resume", json_out=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "through transformers's own resume path" in resumed.stderr
    assert _same_files(tmp_path / "original.pt", tmp_path / "final.pt")
    branch = sl.last_run()
    assert branch["id"] != run_id
    assert f"{run_id}@{inside['seq']}" in json.dumps(branch)


def test_lightning_trainer(sl, tmp_path, need_torch):
    _need("lightning")
    script = sl.script(LIGHTNING_SCRIPT, "train_mlp.py")
    plain = sl.plain(script, tmp_path / "plain.pt")
    assert plain.returncode == 0, plain.stderr
    captured = sl.capture(script, tmp_path / "final.pt", opts=("--inner-every", "0"))
    assert captured.returncode == 0, captured.stderr
    assert captured.stdout == plain.stdout
    assert _same_files(tmp_path / "plain.pt", tmp_path / "final.pt")

    run_id = sl.last_run()["id"]
    log = sl.log(run_id)
    labels = [row.get("label") for row in log]
    # 64 samples / 16 = 4 steps an epoch, 3 epochs.
    assert [f"step {i}" for i in range(1, 13)] == [x for x in labels if x and x.startswith("step")]
    assert [f"epoch {i}" for i in (1, 2, 3)] == [x for x in labels if x and x.startswith("epoch")]
    epoch1 = next(row for row in log if row.get("label") == "epoch 1")
    objects = sl.objects(f"{run_id}@{epoch1['seq']}")
    assert "model" in objects["trainer:model"]["aliases"]
    assert objects["trainer:optimizer"]["type"].endswith("Adam")
    assert "trainer:checkpoint" in objects

    # One point per logging step (log_every_n_steps=2), at Lightning's step.
    points = _series(sl, run_id, "train_loss")
    assert _steps_of(points) == [float(i) for i in range(2, 13, 2)]
    assert [p["epoch"] for p in points] == [0] * 2 + [1] * 2 + [2] * 2

    last_epoch = next(row for row in log if row.get("label") == "epoch 3")
    restored = sl.cli_raw("restore", f"{run_id}@{last_epoch['seq']}", "-c", SAME_WEIGHTS,
                          json_out=False)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip().splitlines()[-1] == "True"

    # Resume from the end of epoch 1 through Lightning's ckpt_path: exact.
    # (The script runs again with its own arguments: it writes final.pt again.)
    (tmp_path / "final.pt").rename(tmp_path / "original.pt")
    resumed = sl.cli_raw("restore", f"{run_id}@{epoch1['seq']}", "--resume", json_out=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "through lightning's own resume path" in resumed.stderr
    assert _same_files(tmp_path / "original.pt", tmp_path / "final.pt")
    assert sl.last_run()["id"] != run_id


def test_lightning_mid_epoch_resume_says_what_differs(sl, tmp_path, need_torch):
    _need("lightning")
    script = sl.script(LIGHTNING_SCRIPT, "train_mlp.py")
    captured = sl.capture(script, tmp_path / "final.pt", opts=("--inner-every", "0"))
    assert captured.returncode == 0, captured.stderr
    mid = next(row for row in sl.log() if row.get("label") == "step 6")
    resumed = sl.cli_raw("restore", f"last@{mid['seq']}", "--resume", json_out=False)
    assert resumed.returncode == 0, resumed.stderr
    # Lightning restarts the interrupted epoch's DataLoader: said plainly.
    assert "restarts that epoch's DataLoader" in resumed.stderr
    assert "the final weights differ" in resumed.stderr


def test_exception_inside_fit(sl, tmp_path, need_torch):
    _need("lightning")
    source = LIGHTNING_SCRIPT.replace(
        '        self.log("train_loss", loss)\n',
        '        self.log("train_loss", loss)\n'
        '        if self.global_step == 5:\n'
        '            raise RuntimeError("the loss diverged")\n')
    script = sl.script(source, "train_fails.py")
    plain = sl.plain(script, tmp_path / "w.pt")
    captured = sl.capture(script, tmp_path / "w.pt")
    assert (captured.returncode, captured.stdout, captured.stderr) == (
        plain.returncode, plain.stdout, plain.stderr)  # the same traceback, exit status 1
    assert plain.returncode == 1 and "the loss diverged" in plain.stderr
    # One post-mortem snapshot: the framework's, with the trainer's roots and
    # the locals of the script's training_step the exception went through.
    (failed,) = [row for row in sl.log() if row["trigger"] == "exception"]
    assert failed["label"] == "exception in Trainer.fit()"
    assert failed["line"] == line_of(script, 'raise RuntimeError("the loss diverged")')
    objects = sl.objects(f"last@{failed['seq']}")
    assert "training_step:loss" in objects
    assert objects["trainer:trainer_state"]["kind"] in ("container", "value")
    assert "model" in objects["trainer:model"]["aliases"]
