"""`python -m snapline run [OPTIONS] script.py [ARGS]...` runs a script under
capture. Every other command (`runs`, `log`, `show`, `metrics`...) is the
`snapline` binary's, which this forwards to."""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from .agent import Options


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m snapline run",
        description="Run a Python script as __main__ and capture snapshots of its state.",
    )
    parser.add_argument("--store", default=os.environ.get("SNAPLINE_STORE", ".snapline"),
                        help="store directory (default: $SNAPLINE_STORE or .snapline)")
    parser.add_argument("--inner-every", type=float, default=Options.inner_every,
                        metavar="SECONDS",
                        help="minimum seconds between inner-loop snapshots (default 5)")
    parser.add_argument("--outer-every", type=float, default=Options.outer_every,
                        metavar="SECONDS",
                        help="minimum seconds between outermost-loop snapshots (default 0)")
    parser.add_argument("--no-statements", action="store_true",
                        help="do not snapshot after each top-level statement")
    parser.add_argument("script", help="the Python script")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    return parser


def _split_own_options(argv: list) -> list:
    """Everything after the script belongs to the script, `--` allowed."""
    own, rest = [], list(argv)
    takes_value = {"--store", "--inner-every", "--outer-every"}
    while rest:
        arg = rest[0]
        if arg == "--":
            rest.pop(0)
            break
        if not arg.startswith("-"):
            break
        own.append(rest.pop(0))
        if arg in takes_value and rest:
            own.append(rest.pop(0))
    if not rest:
        return own
    return [*own, "--", rest[0], *rest[1:]] if rest[0].startswith("-") else [*own, *rest]


def _forward(argv: list) -> None:
    here = os.path.dirname(sys.executable)
    candidates = [os.path.join(here, "snapline"), shutil.which("snapline")]
    for binary in candidates:
        if binary and os.path.isfile(binary) and os.access(binary, os.X_OK):
            os.execv(binary, [binary, *argv])
    sys.stderr.write("snapline: the `snapline` binary is not installed beside this Python; "
                     "run the README's setup command\n")
    raise SystemExit(2)


def main(argv: list | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "run":
        _forward(argv)
        return
    own = _split_own_options(argv[1:])
    if "--" in own:
        cut = own.index("--")
        ns = _run_parser().parse_args(own[:cut] + ["--"] + own[cut + 1:])
    else:
        ns = _run_parser().parse_args(own)
    options = Options(store=ns.store, inner_every=ns.inner_every, outer_every=ns.outer_every,
                      statements=not ns.no_statements)
    from .runner import run

    run(ns.script, ns.args, options)


if __name__ == "__main__":
    main()
