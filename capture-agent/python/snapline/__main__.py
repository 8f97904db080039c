"""`python -m snapline run [OPTIONS] script.py [ARGS]...` runs a script under
capture. Every other command (`runs`, `log`, `show`, `metrics`...) is the
`snapline` binary's, which this forwards to."""

from __future__ import annotations

import argparse
import gc
import os
import sys


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's own formatter at the terminal's width, found without
    `shutil` (argparse imports it for each formatter it makes, one per
    option added: about 2 ms of every run's start-up), as
    `shutil.get_terminal_size` finds it: $COLUMNS, else the terminal of
    stdout, else 80."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=_terminal_columns() - 2)


def _terminal_columns() -> int:
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    stdout = sys.__stdout__
    if columns <= 0 and stdout is not None:
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def _run_parser() -> argparse.ArgumentParser:
    from .options import DEFAULT_BUDGET

    parser = argparse.ArgumentParser(
        prog="python -m snapline run",
        description="Run a Python script as __main__ and capture snapshots of its state.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--store", default=os.environ.get("SNAPLINE_STORE", ".snapline"),
                        help="store directory (default: $SNAPLINE_STORE or .snapline)")
    parser.add_argument("--inner-every", type=float, default=None,
                        metavar="SECONDS",
                        help="minimum seconds from the last snapshot to an inner-loop one "
                        "(default 5; given, the budget does not apply to them)")
    parser.add_argument("--outer-every", type=float, default=None,
                        metavar="SECONDS",
                        help="minimum seconds from the last snapshot to an outermost-loop "
                        "one (default 0: every iteration, within the budget; given, the "
                        "budget does not apply to them)")
    parser.add_argument("--budget", type=budget_share, default=DEFAULT_BUDGET,
                        metavar="PERCENT",
                        help="the most of the run's wall time snapshots may take: past it, "
                        "loop iterations are snapshotted less often (default 2%%; 0: no "
                        "budget)")
    parser.add_argument("--no-statements", action="store_true",
                        help="do not snapshot after each top-level statement")
    parser.add_argument("--nan-hooks", action="store_true",
                        help="record the first module and step whose output or gradient went "
                             "non-finite (torch hooks), and the first numpy floating-point "
                             "warning (slower: see bench/RESULTS.md)")
    parser.add_argument("--check-roundtrip", action="store_true",
                        help="after each snapshot, pickle, load back and compare a sample of "
                             "its new pickled objects; what would not come back the same is "
                             "a warning (`snapline warnings RUN`)")
    parser.add_argument("--no-loop-metrics", action="store_true",
                        help="do not read the scalars loops assign at every iteration "
                             "(metric points then come from snapshots only)")
    parser.add_argument("-m", dest="module", metavar="MODULE",
                        help="run a module as `python -m MODULE` does (then no script: "
                             "everything after MODULE is its arguments)")
    parser.add_argument("script", nargs="?", help="the Python script")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    return parser


def budget_share(text: str) -> float:
    """`--budget 2`, `2%` or `0.5%`: a percentage of wall time, as a share."""
    try:
        percent = float(text.strip().rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a percentage such as 2 or 2%, not {text!r}") from None
    if not 0 <= percent <= 100:
        raise argparse.ArgumentTypeError(f"a percentage from 0 to 100, not {text!r}")
    return percent / 100.0


def _split_own_options(argv: list[str]) -> list[str]:
    """Everything after the script (or `-m MODULE`) belongs to the script,
    `--` allowed."""
    own, rest = [], list(argv)
    takes_value = {"--store", "--inner-every", "--outer-every", "--budget"}
    while rest:
        arg = rest[0]
        if arg == "--":
            rest.pop(0)
            break
        if arg.startswith("-m"):  # `-m MODULE` or `-mMODULE`, as python takes it
            rest.pop(0)
            own.extend(["-m", arg[2:] or (rest.pop(0) if rest else "")])
            return [*own, "--", *rest]
        if not arg.startswith("-"):
            break
        own.append(rest.pop(0))
        if arg in takes_value and rest:
            own.append(rest.pop(0))
    if not rest:
        return own
    return [*own, "--", rest[0], *rest[1:]] if rest[0].startswith("-") else [*own, *rest]


def _binary_candidates() -> list[str | None]:
    """Where the `snapline` binary is, in order: the scripts directory of
    this interpreter's install scheme (where the wheel put it), beside this
    Python (a venv's bin/, the dev setup), the user scheme's (`pip install
    --user`), then PATH."""
    import shutil  # (imported here: `snapline run` starts without them)
    import sysconfig

    dirs = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    try:
        dirs.append(sysconfig.get_path("scripts", f"{os.name}_user"))
    except KeyError:  # no user scheme on this platform
        pass
    found = [os.path.join(d, "snapline") for d in dirs if d]
    return [*found, shutil.which("snapline")]


def _forward(argv: list[str]) -> None:
    for binary in _binary_candidates():
        if binary and os.path.isfile(binary) and os.access(binary, os.X_OK):
            os.execv(binary, [binary, *argv])
    sys.stderr.write("snapline: the `snapline` binary is not installed for this Python; "
                     "install the wheel (`pip install snapline-*.whl`, README) or run the "
                     "README's setup command\n")
    raise SystemExit(2)


def _restore_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snapline restore",
        description="Bring a snapshot back: a Python prompt, a Jupyter kernel, or the script "
                    "resumed from there.")
    parser.add_argument("snapshot", help="RUN@SEQ (RUN: id prefix or `last`)")
    parser.add_argument("--store", default=os.environ.get("SNAPLINE_STORE", ".snapline"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true",
                      help="continue the script from the snapshot, captured as a new run")
    mode.add_argument("--jupyter", action="store_true",
                      help="start a Jupyter kernel holding the state")
    parser.add_argument("--force", action="store_true",
                        help="resume even where it cannot be exact (the reasons are printed)")
    parser.add_argument("-c", dest="command", metavar="CODE",
                        help="run CODE in the restored state instead of opening a prompt")
    parser.add_argument("--json", action="store_true",
                        help="print the fidelity report as JSON (with -c)")
    safety = parser.add_mutually_exclusive_group()
    safety.add_argument("--safe", action="store_true",
                        help="run no code from the snapshot: load only data and well-known "
                             "types; the script's definitions and settings do not run, other "
                             "objects are reported as withheld (the default for a snapshot "
                             "imported from elsewhere)")
    safety.add_argument("--trust", action="store_true",
                        help="load a snapshot from elsewhere in full (after listing what safe "
                             "mode would withhold); needed to --resume one")
    parser.add_argument("--connection-file", metavar="FILE",
                        default=os.environ.get("SNAPLINE_CONNECTION_FILE"),
                        help="with --jupyter: write the kernel's connection file here "
                             "(default: $SNAPLINE_CONNECTION_FILE, else Jupyter's runtime "
                             "directory)")
    return parser


def _rank_snapshot(ref: str) -> str:
    """Under a run group's resume (`snapline restore GROUP@step:N --resume`
    relaunching the ranks through torchrun), this rank's own snapshot:
    SNAPLINE_GROUP_SNAPSHOTS lists one RUN@SEQ per rank, in rank order. The
    variable is removed so that the resumed program does not see it."""
    refs = os.environ.pop("SNAPLINE_GROUP_SNAPSHOTS", "").split()
    rank = os.environ.get("RANK", "")
    if refs and rank.isdigit() and int(rank) < len(refs):
        return refs[int(rank)]
    return ref


def _restore(argv: list[str]) -> int:
    parser = _restore_parser()
    ns = parser.parse_args(argv)
    ns.snapshot = _rank_snapshot(ns.snapshot)
    if ns.resume and ns.safe:
        parser.error("--resume runs the script's code: it cannot be --safe (restore at a "
                     "prompt instead)")
    from .restore import RestoreError, Session

    try:
        if ns.resume:
            from .restore.resume import resume

            return resume(ns.store, ns.snapshot, force=ns.force, trust=ns.trust)
        session = Session(ns.store, ns.snapshot, safe=ns.safe, trust=ns.trust)
        from .restore.sandbox import confine

        # A foreign snapshot without --trust: sandboxed before anything of
        # it loads (a kernel needs the network: its pickles are withheld).
        confine(session, in_process=ns.jupyter)
        if ns.jupyter:
            from .restore.kernel import serve

            return serve(session, connection_file=ns.connection_file, store=ns.store)
        from .restore.repl import interact

        return interact(session, command=ns.command, json_out=ns.json)
    except RestoreError as err:
        sys.stderr.write(f"snapline: error: {err}\n")
        return 1


def _parse_run_options(argv: list[str]) -> argparse.Namespace:
    own = _split_own_options(argv)
    if "--" in own:
        cut = own.index("--")
        ns = _run_parser().parse_args(own[:cut] + ["--"] + own[cut + 1:])
    else:
        ns = _run_parser().parse_args(own)
    if ns.module is None and ns.script is None:
        _run_parser().error("the script to run is required (or -m MODULE)")
    if ns.module == "":
        _run_parser().error("argument -m: expected one argument")
    return ns


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "restore":
        raise SystemExit(_restore(argv[1:]))
    if not argv or argv[0] != "run":
        _forward(argv)
        return
    # The agent's modules, imported now, allocate tens of thousands of
    # objects and free none: the cyclic collector walking them took a tenth
    # of the start-up. It is off until the program runs, then as it was.
    collecting = gc.isenabled()
    gc.disable()
    try:
        ns = _parse_run_options(argv[1:])
        from .options import Options

        options = Options(store=ns.store, statements=not ns.no_statements,
                          nan_hooks=ns.nan_hooks, loop_metrics=not ns.no_loop_metrics,
                          budget=ns.budget, check_roundtrip=ns.check_roundtrip,
                          inner_every_given=ns.inner_every is not None,
                          outer_every_given=ns.outer_every is not None)
        if ns.inner_every is not None:
            options.inner_every = ns.inner_every
        if ns.outer_every is not None:
            options.outer_every = ns.outer_every
        opening = None
        if ns.module is None:
            # The store opens (fsyncs) while the agent's modules import.
            from .recorder_open import RecorderOpening

            opening = RecorderOpening.start(ns.script, ns.args, options)
        from .runner import run
    finally:
        if collecting:
            gc.enable()
    if ns.module is not None:
        args = [] if ns.script is None else [ns.script, *ns.args]
        run(ns.module, args, options, module_name=ns.module)
    else:
        run(ns.script, ns.args, options, opening=opening)


if __name__ == "__main__":
    main()
