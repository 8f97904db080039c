"""`snapline restore RUN@SEQ --resume` of a snapshot taken inside a
framework's training loop: through the framework's own resume path.

The snapshot's `trainer:*` objects and random states are rebuilt, written
as the framework's checkpoint (a Hugging Face `checkpoint-N` directory, a
Lightning `.ckpt`) in a temporary directory, and the script runs again from
the top, captured as a new run whose parent is RUN@SEQ; its first
`Trainer.train()` / `trainer.fit()` gets `resume_from_checkpoint=` /
`ckpt_path=` (frameworks/transformers.py, frameworks/lightning.py)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any

from ..agent import resumed_options
from ..restore.rebuild import Missing
from ..restore.session import Session
from ..restore.snapshot import RestoreError
from ..values import JsonObject

ROOT_PREFIX = "trainer"


def resume_framework(session: Session, store: str, *, force: bool) -> int:
    """Resumes the script of `session`'s snapshot through its framework.
    Returns the resumed program's exit status."""
    from ..restore.resume import _script_changes

    snap = session.snapshot
    framework = snap.meta["position"]["framework"]
    name = framework.get("name")
    session.check_packages()
    path = session.script_path
    try:
        with open(path, "rb") as f:
            current: bytes | None = f.read()
    except OSError:
        current = None
    if current is None:
        raise RestoreError(f"the script {path} is gone: resuming through {name} runs it again "
                           "from the top")
    reasons = [] if current == snap.script_source() else [
        f"{path} changed since the run (" + "; ".join(_script_changes(
            snap.script_source(), current)[:8]) + ")"]
    differs = _what_differs(snap.meta, framework)
    if reasons:
        sys.stderr.write(f"snapline: resuming {snap.ref} cannot be exact:\n")
        sys.stderr.writelines(f"  - {reason}\n" for reason in reasons + differs)
        if not force:
            sys.stderr.write("snapline: error: not resuming; pass --force to resume anyway\n")
            return 1
    session.enter_environment()
    objects, rng = _rebuild(session, force)
    directory = tempfile.mkdtemp(prefix="snapline-resume-")
    try:
        checkpoint = _write_checkpoint(name, objects, rng, directory)
        step = framework.get("global_step")
        sys.stderr.write(
            f"snapline: resuming {os.path.basename(path)} from {snap.ref} through {name}'s own "
            f"resume path (step {step}): the script runs again from the top and its "
            f"{'Trainer.train()' if name == 'transformers' else 'Trainer.fit()'} "
            "continues from a checkpoint written from the snapshot\n")
        if differs and not reasons:
            sys.stderr.write("snapline: what differs from the original run:\n")
            sys.stderr.writelines(f"  - {line}\n" for line in differs)
        sys.stderr.flush()
        from .. import frameworks

        frameworks.resume_request = {"framework": name, "checkpoint": checkpoint, "rng": rng}
        options = resumed_options(store, snap.lineage.get("options") or {})
        argv = list(sys.argv)
        from ..runner import run

        try:
            run(argv[0] if argv else path, argv[1:], options, script_path=path,
                parent=(snap.run_id, snap.seq))
        except SystemExit as exc:
            code = exc.code
            return code if isinstance(code, int) else (0 if code is None else 1)
        return 0
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _what_differs(meta: JsonObject, framework: JsonObject) -> list[str]:
    """What the framework's resume path does not reproduce, in plain words."""
    out = [("the statements before the training call run again (their output is printed "
            "again; their results are recomputed, not taken from the snapshot)")]
    if meta.get("trigger") == "exception":
        out.append("the snapshot was taken by an exception inside training: training goes "
                   "on from the last completed step")
    if framework.get("name") == "lightning" and framework.get("event") == "step":
        out.append(f"the snapshot is in the middle of epoch {framework.get('epoch')}: "
                   "Lightning restarts that epoch's DataLoader from its first batch (a plain "
                   "DataLoader is not resumable), so the rest of the epoch sees other batches "
                   "than the original run and the final weights differ; resume from an epoch "
                   "end (`snapline log` labels them `epoch N`) to continue exactly")
    return out


def _rebuild(session: Session, force: bool) -> tuple[dict[str, Any], dict[str, object]]:
    """The snapshot's `trainer:*` objects ({name: object}) and random states."""
    namespace: dict[str, object] = {"__builtins__": __builtins__}
    rebuilder = session.rebuilder_for(namespace)
    paths = session.roots.frames.get(ROOT_PREFIX, {})
    name = session.snapshot.meta["position"]["framework"].get("name")
    wanted = ["checkpoint"] if name == "lightning" else [
        "model", "optimizer", "lr_scheduler", "trainer_state"]
    objects: dict[str, Any] = {}
    for key in wanted:
        if key not in paths:
            continue
        try:
            objects[key] = rebuilder.build(paths[key])
        except Missing as err:
            if not force:
                raise RestoreError(f"{paths[key]} could not be restored ({err}): resuming "
                                   "would not continue the same run") from None
            sys.stderr.write(f"snapline: {paths[key]} could not be restored ({err})\n")
    needed = "checkpoint" if name == "lightning" else "model"
    if needed not in objects:
        raise RestoreError(f"{session.snapshot.ref} holds no `{ROOT_PREFIX}:{needed}`: it "
                           f"cannot be resumed through {name}; restore it at a prompt instead")
    rng: dict[str, object] = {}
    for key, path in session.roots.rng.items():
        try:
            rng[key] = rebuilder.build(path)
        except Missing as err:
            sys.stderr.write(f"snapline: the random state {path} could not be restored ({err})\n")
    return objects, rng


def _write_checkpoint(name: str, objects: dict[str, Any], rng: dict[str, object],
                      directory: str) -> str:
    if name == "lightning":
        from .lightning import write_checkpoint

        return write_checkpoint(objects["checkpoint"], os.path.join(directory, "snapshot.ckpt"))
    from .transformers import write_checkpoint as write_hf

    return write_hf(objects, rng, directory)
