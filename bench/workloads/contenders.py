"""What people use instead of Snapline, run at the workloads' safe points.

* `dill-var`: the Transactional Python paper's approach. Each user global
  (modules, functions and classes left out) is serialized with dill on its
  own; a variable is written only when its bytes differ from its last
  written version.
* `dump-session`: `dill.dump_session` of the whole `__main__`, every time.

Both write one file per saved version under the save directory, so that
any save can be restored: `python contenders.py restore KIND DIR INDEX`
loads save INDEX (0-based) in a fresh process and prints its seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import types

import dill


def _is_state(name: str, value) -> bool:
    if name.startswith("__") or name in ("safe_point", "saved", "safepoint"):
        return False
    return not isinstance(value, (types.ModuleType, types.FunctionType, type,
                                  types.BuiltinFunctionType))


class DillPerVariable:
    """Per-variable dill, only the variables whose bytes changed."""

    def __init__(self, root: str):
        self.root = root
        self.digests: dict = {}
        self.index = 0
        self.skipped: set = set()
        os.makedirs(root, exist_ok=True)

    def save(self, namespace: dict) -> int:
        written = 0
        manifest = {}
        for name, value in list(namespace.items()):
            if not _is_state(name, value):
                continue
            try:
                data = dill.dumps(value)
            except Exception:  # noqa: BLE001 - what dill refuses is left out, as in the paper
                self.skipped.add(name)
                continue
            digest = hashlib.blake2b(data, digest_size=16).hexdigest()
            if self.digests.get(name, (None,))[0] != digest:
                path = os.path.join(self.root, f"{name}.{self.index}.pkl")
                with open(path, "wb") as f:
                    f.write(data)
                written += len(data)
                self.digests[name] = (digest, path)
            manifest[name] = self.digests[name][1]
        path = os.path.join(self.root, f"manifest.{self.index}.json")
        with open(path, "w") as f:
            json.dump(manifest, f)
        written += os.path.getsize(path)
        self.index += 1
        return written


class DumpSession:
    """`dill.dump_session`: the whole of `__main__`, each time."""

    def __init__(self, root: str):
        self.root = root
        self.index = 0
        self.skipped: set = set()
        os.makedirs(root, exist_ok=True)

    def save(self, namespace: dict) -> int | None:
        """Bytes written; None when dill refused the session (nothing kept)."""
        path = os.path.join(self.root, f"session.{self.index}.pkl")
        self.index += 1
        try:
            dill.dump_session(path, main=sys.modules["__main__"])
        except Exception as e:  # noqa: BLE001 - reported, the run goes on
            self.skipped.add(f"{type(e).__name__}: {e}"[:200])
            os.remove(path)  # half a pickle restores nothing
            return None
        return os.path.getsize(path)


def make(name: str, root: str):
    kinds = {"dill-var": DillPerVariable, "dump-session": DumpSession}
    if name not in kinds:
        raise SystemExit(f"unknown contender {name!r}: one of {', '.join(kinds)}")
    return kinds[name](root)


def restore(kind: str, root: str, index: int) -> float:
    """Loads save `index` of a contender's directory; returns the seconds taken."""
    started = time.perf_counter()
    if kind == "dill-var":
        with open(os.path.join(root, f"manifest.{index}.json")) as f:
            manifest = json.load(f)
        state = {}
        for name, path in manifest.items():
            with open(path, "rb") as f:
                state[name] = dill.load(f)
    elif kind == "dump-session":
        dill.load_session(os.path.join(root, f"session.{index}.pkl"))
    elif kind == "torch-save":
        import torch

        files = sorted((f for f in os.listdir(root) if f.endswith(".pt")),
                       key=lambda f: int(f.split(".")[0].removeprefix("epoch")))
        torch.load(os.path.join(root, files[index]), weights_only=True)
    else:
        raise SystemExit(f"unknown contender {kind!r}")
    return time.perf_counter() - started


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "restore":
        raise SystemExit("usage: contenders.py restore KIND DIR INDEX")
    print(json.dumps({"seconds": restore(sys.argv[2], sys.argv[3], int(sys.argv[4]))}))
