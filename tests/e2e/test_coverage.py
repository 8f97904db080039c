"""Library coverage: for each library, one script declares objects of the
kinds ML code holds and changes them in place (tests/e2e/coverage/*_cases.py).
It runs plain, then under capture; its last snapshot is restored and each
case's probe (coverage/probe.py) is evaluated in both and compared. Every
case is classified:

- equal: the restored program sees what the plain one saw, nothing reported;
- differs-and-reported: the fidelity report lists it as rebuilt (what differs);
- unrestorable-and-reported: the report lists it as missing, with the reason;
- silently-different: it differs and the report says nothing. The test fails.

`SNAPLINE_COVERAGE_TABLE=FILE` appends each library's counts and cases
there as JSON lines (bench/RESULTS.md's table)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import BIN, PYTHON, python_has, run

COVERAGE = Path(__file__).resolve().parent / "coverage"
MARK = "COVERAGE "

LIBRARIES = {
    "builtins": [],
    "numpy": ["numpy"],
    "pandas": ["pandas"],
    "scipy": ["scipy"],
    "sklearn": ["sklearn"],
    "torch": ["torch"],
    "matplotlib": ["matplotlib"],
    "pil": ["PIL", "numpy"],
    "transformers": ["transformers", "torch"],
    "lightning": ["lightning", "torch"],
}

PROBE = ("import sys as _s; _s.path.insert(0, {dir!r}); import probe as _p; "
         "print(_p.MARK + _p.results(globals()))")


def _probed(done) -> dict:
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    assert done.returncode == 0 and len(lines) == 1, (done.stdout[-3000:], done.stderr[-3000:])
    return json.loads(lines[0][len(MARK):])


def _under(path: str, roots: list) -> bool:
    return any(path == r or (path.startswith(r) and path[len(r)] in ".[{") for r in roots)


def classify(plain: dict, restored: dict, report: dict, cases: dict) -> dict:
    """{case: (class, detail)}."""
    out = {}
    for name, roots_text in cases.items():
        roots = roots_text.split()
        lost = [f"{m['path']}: {m['reason']}" for m in report["missing"] + report["withheld"]
                if _under(m["path"], roots)]
        rebuilt = [f"{m['path']}: {m['how']}" for m in report["rebuilt"]
                   if _under(m["path"], roots)]
        same = plain.get(name) == restored.get(name)
        if lost:
            out[name] = ("unrestorable-and-reported", lost[0])
        elif rebuilt:
            # (Whether the probe saw a difference: a report that is too careful shows here.)
            out[name] = ("differs-and-reported",
                         rebuilt[0] + (" [the probe saw no difference]" if same else ""))
        elif same:
            out[name] = ("equal", "")
        else:
            seen = (f"plain {json.dumps(plain.get(name))[:300]} / restored "
                    f"{json.dumps(restored.get(name))[:300]}")
            out[name] = ("silently-different", seen)
    return out


@pytest.mark.parametrize("library", list(LIBRARIES))
def test_library_coverage(library: str, tmp_path: Path) -> None:
    for module in LIBRARIES[library]:
        if not python_has(module):
            pytest.skip(f"{module} is not installed for {PYTHON}")
    script = COVERAGE / f"{library}_cases.py"
    store = tmp_path / "store"
    env = {"MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    plain_code = (f"import runpy, sys; sys.path.insert(0, {str(COVERAGE)!r}); import probe; "
                  f"ns = runpy.run_path({str(script)!r}, run_name='__main__'); "
                  "print(probe.MARK + probe.results(ns))")
    plain = run([PYTHON, "-c", plain_code], cwd=tmp_path, env=env)
    expected = _probed(plain)
    captured = run([PYTHON, "-m", "snapline", "run", "--store", store, "--no-statements",
                    script], cwd=tmp_path, env=env)
    assert captured.returncode == 0, captured.stderr[-3000:]
    done = run([BIN, "--store", store, "restore", "last", "--python", PYTHON, "--json",
                "-c", PROBE.format(dir=str(COVERAGE))], cwd=tmp_path, env=env)
    restored = _probed(done)
    report = json.loads(done.stdout.splitlines()[0])
    cases = {name: roots for name, (roots, _) in _cases(expected, script).items()}
    result = classify(expected, restored, report, cases)
    table = os.environ.get("SNAPLINE_COVERAGE_TABLE")
    if table:
        counts: dict = {}
        for kind, _ in result.values():
            counts[kind] = counts.get(kind, 0) + 1
        with open(table, "a") as f:
            f.write(json.dumps({"library": library, "counts": counts,
                                "cases": {k: list(v) for k, v in result.items()}}) + "\n")
    silent = {name: detail for name, (kind, detail) in result.items()
              if kind == "silently-different"}
    assert not silent, "restored silently different:\n" + "\n".join(
        f"  {name}: {detail}" for name, detail in silent.items())


def _cases(probed: dict, script: Path) -> dict:
    """CASES of the script (read with the probe's names: every case probed)."""
    import ast

    tree = ast.parse(script.read_text())
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "CASES" for t in stmt.targets):
            cases = ast.literal_eval(stmt.value)
            assert set(cases) == set(probed)
            return cases
    raise AssertionError(f"{script} has no CASES")
