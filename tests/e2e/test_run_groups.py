"""Run groups: each rank of a torchrun job captured as its own run, in one
group (issue #18). A tiny DDP job (gloo, two CPU ranks) under
`torchrun --standalone --nproc-per-node 2 -m snapline run train.py`; then
`runs`, `nan GROUP`, `diff` of two ranks at a step, and the group resumed
through torchrun. Plus the parts that need no torch: the group read from a
launcher's environment, and several processes creating one store at once."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, PYTHON, Snapline, base_env, python_has, run

DDP_SCRIPT = '''
import gc
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

torch.set_num_threads(1)
dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)

x = torch.randn(64, 8)
y = (x.sum(dim=1, keepdim=True) > 0).float()
dataset = TensorDataset(x, y)
sampler = DistributedSampler(dataset, shuffle=True, seed=0)
loader = DataLoader(dataset, batch_size=8, sampler=sampler)

model = DDP(torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = torch.nn.BCEWithLogitsLoss()
poison_rank = int(os.environ.get("POISON_RANK", "-1"))

for epoch in range(4):
    sampler.set_epoch(epoch)
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
    if rank == poison_rank and epoch == 2:
        # A bug on one replica only: its weight goes NaN after epoch 3's
        # snapshot; the next all-reduce spreads it to the other rank.
        with torch.no_grad():
            model.module[0].weight[0, 0] = float("nan")
    print(f"rank {rank} epoch {epoch} loss {loss.item():.4f}")

total = sum(p.sum().item() for p in model.parameters())
print(f"rank {rank} done {total:.6f}")
# DDP released before the group goes (torch's gloo otherwise aborts at exit
# now and then: "terminate called without an active exception").
del model, optimizer
gc.collect()
dist.destroy_process_group()
'''


def torchrun(*args: object, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return run([PYTHON, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                *args], cwd=cwd, env=env, timeout=180)


@pytest.fixture(scope="module")
def ddp(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """One captured DDP job (rank 1 goes NaN first): (Snapline, its dir, stdout)."""
    if not python_has("torch"):
        pytest.skip(f"torch is not installed for {PYTHON}")
    work = tmp_path_factory.mktemp("ddp")
    sl = Snapline(work / "store", work)
    sl.script(DDP_SCRIPT, "train.py")
    done = torchrun("-m", "snapline", "run", "--store", sl.store, "train.py", cwd=work,
                    env={"POISON_RANK": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return sl, work, done.stdout


def printed(stdout: str) -> list:
    """The ranks' lines (two processes share the terminal: lines may run
    together)."""
    return re.findall(r"rank \d (?:epoch \d loss (?:nan|-?\d+\.\d{4})|done (?:nan|-?\d+\.\d{6}))",
                      stdout)


def group_of(sl: Snapline) -> tuple:
    runs = sl.runs()
    groups = {r["group"] for r in runs}
    assert len(groups) == 1 and None not in groups, runs
    return groups.pop(), sorted(runs, key=lambda r: r["rank"])


def test_each_rank_is_a_run_of_one_group(ddp: tuple) -> None:
    sl, _, stdout = ddp
    assert "rank 0 done" in stdout and "rank 1 done" in stdout
    group, ranks = group_of(sl)
    assert [(r["rank"], r["world_size"], r["status"]) for r in ranks] == [
        (0, 2, "finished"), (1, 2, "finished")]
    assert ranks[0]["id"] != ranks[1]["id"]
    assert ranks[0]["lineage"]["group"]["launcher"] == "torchrun"
    # Every snapshot of both ranks is there: the same loop points, and
    # each one reads back with its hashes (two writers on one store).
    logs = [sl.log(r["id"]) for r in ranks]
    points = [[(s["trigger"], s["loops"]) for s in log] for log in logs]
    assert points[0] == points[1]
    assert [loops for trigger, loops in points[0] if trigger == "iteration"] == [
        [1], [2], [3], [4]]
    assert points[0][-1][0] == "exit"
    for r in ranks:
        verified = sl.cli_raw("log", f"{group}/r{r['rank']}", "--verify", json_out=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    # The text list: one line for the group, its ranks indented under it.
    text = sl.cli_raw("runs", json_out=False).stdout.splitlines()
    at = next(i for i, line in enumerate(text) if line.startswith(group))
    assert "2 finished" in text[at] and "group of 2 ranks" in text[at]
    assert text[at + 1].startswith(f"  r0 {ranks[0]['id']}")
    assert text[at + 2].startswith(f"  r1 {ranks[1]['id']}")


def test_nan_names_the_rank_that_went_bad_first(ddp: tuple) -> None:
    sl, _, _ = ddp
    group, _ = group_of(sl)
    report = sl.cli("nan", group[:6])
    assert report["group"] == group and report["world_size"] == 2
    assert report["first_rank"] == 1
    by_rank = {r["rank"]: r for r in report["ranks"]}
    assert by_rank[1]["step"] == [3] and by_rank[0]["step"] == [4]
    assert any("_module_parameters[0]" in o["path"] for o in by_rank[1]["began"])
    text = sl.cli_raw("nan", group, json_out=False).stdout
    assert "rank 1 went non-finite first" in text


def test_diff_of_two_ranks_at_a_step(ddp: tuple) -> None:
    sl, _, _ = ddp
    group, ranks = group_of(sl)

    def parameters(step: int) -> list:
        diff = sl.cli("diff", f"{group}/r0@step:{step}", f"{group}/r1@step:{step}")
        assert diff["a"]["run"] == ranks[0]["id"] and diff["b"]["run"] == ranks[1]["id"]
        return [c["path"] for c in diff["changes"] if "_module_parameters" in c["path"]]

    assert parameters(2) == []  # replicas agree until the bug
    assert parameters(3) == ["model._module_parameters[0]"]
    _, err = sl.cli_fail("diff", f"{group}/r0@step:3", f"{group}/r7@step:3")
    assert "has no rank 7" in err
    _, err = sl.cli_fail("show", f"{group}/r0@step:99")
    assert "no snapshot at step 99" in err


def test_group_resume_relaunches_both_ranks(ddp: tuple) -> None:
    sl, work, original = ddp
    group, ranks = group_of(sl)
    done = run([BIN, "--store", sl.store, "restore", f"{group}@step:2", "--resume"], cwd=work,
               timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    # Each rank went on from its own epoch-2 snapshot: the rest of its
    # output is the original run's.
    rest = {line for line in printed(original) if "epoch 2" in line or "epoch 3" in line
            or "done" in line}
    assert len(rest) == 6 and set(printed(done.stdout)) == rest
    resumed = [r for r in sl.runs() if r["group"] != group]
    assert len(resumed) == 2 and len({r["group"] for r in resumed}) == 1
    parents = {r["rank"]: r["parent"] for r in resumed}
    assert parents[0].startswith(ranks[0]["id"] + "@")
    assert parents[1].startswith(ranks[1]["id"] + "@")
    assert all(r["status"] == "finished" for r in resumed)


# -- no torch needed ---------------------------------------------------------

TINY = "total = 0\nfor i in range(3):\n    total += i\nprint(total)\n"


def test_group_from_a_launchers_environment(sl: Snapline) -> None:
    script = sl.script(TINY)
    env = {"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": "29512"}
    assert sl.capture(script, env=env).returncode == 0
    assert sl.capture(script, env={**env, "RANK": "3", "LOCAL_RANK": "3"}).returncode == 0
    assert sl.capture(script).returncode == 0  # solo
    runs = sl.runs()
    assert [(r["rank"], r["world_size"]) for r in runs] == [(1, 4), (3, 4), (None, None)]
    assert runs[0]["group"] == runs[1]["group"] and runs[0]["group"].startswith("g")
    assert runs[0]["lineage"]["group"]["launcher"] == "env"
    assert runs[2]["group"] is None
    # Two of four ranks: the group line says the others are elsewhere, and
    # resuming it needs them all.
    text = sl.cli_raw("runs", json_out=False).stdout
    assert "2 not captured here" in text
    _, err = sl.cli_fail("restore", runs[0]["group"] + "@step:1", "--resume",
                            json_out=False)
    assert "has 4 ranks but this store holds 2" in err
    _, err = sl.cli_fail("nan", "gfff", json_out=False)
    assert "no run group 'gfff'" in err


def test_ranks_creating_one_store_at_once_all_capture(tmp_path: Path) -> None:
    """Ranks on one node start together: the first commits race to create
    the store's catalog. None may fall back to running uncaptured."""
    script = tmp_path / "tiny.py"
    script.write_text(TINY)
    for attempt in range(3):
        store = tmp_path / f"store{attempt}"
        procs = [subprocess.Popen([PYTHON, "-m", "snapline", "run", "--store", str(store),
                                   str(script)], env=base_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs):
            assert p.returncode == 0 and out == "3\n", err
            assert "cannot capture" not in err, err
        sl = Snapline(store, tmp_path)
        assert len(sl.runs()) == 4
