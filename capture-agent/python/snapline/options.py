"""A run's capture settings (`snapline run`'s options, a notebook's
`%snapline` settings). A module of their own, importing nothing heavy:
`snapline run` reads them and starts opening the store
(recorder_open.py) before the agent's modules are imported."""

from __future__ import annotations

# `--budget`'s default: snapshots may take 2% of the run's wall time.
DEFAULT_BUDGET = 0.02


class Options:
    """Capture settings (`snapline run --help` documents each). (A plain
    class, not a dataclass: `dataclasses` imports `inspect`, about 5 ms of
    every `snapline run`'s start-up.)"""

    def __init__(self, store: str = ".snapline", inner_every: float = 5.0,
                 outer_every: float = 0.0, statements: bool = True, nan_hooks: bool = False,
                 loop_metrics: bool = True, budget: float = DEFAULT_BUDGET,
                 check_roundtrip: bool = False, inner_every_given: bool = False,
                 outer_every_given: bool = False) -> None:
        self.store = store
        # Minimum seconds between snapshots at inner-loop iteration boundaries.
        self.inner_every = inner_every
        # Minimum seconds between snapshots at outermost-loop boundaries (0: all).
        self.outer_every = outer_every
        # Snapshot after each top-level statement.
        self.statements = statements
        # Record the first non-finite module output / gradient (torch hooks) and
        # numpy floating-point warning as events (nan_hooks.py); costs time.
        self.nan_hooks = nan_hooks
        # Read the scalars loops assign at every iteration (metric points).
        self.loop_metrics = loop_metrics
        # Share of the run's wall time snapshots may take (`--budget`, 0.02: 2%;
        # 0: no budget). Past it, loop iterations whose throttle was not given
        # explicitly are snapshotted less often (Agent._within_budget).
        self.budget = budget
        # `--check-roundtrip`: after each snapshot, pickle, load back and compare
        # a sample of its new pickled objects (restore/roundtrip.py); what does
        # not come back the same becomes a warning. Costs time; loading runs the
        # objects' own unpickling code in the program.
        self.check_roundtrip = check_roundtrip
        # Whether --inner-every / --outer-every were given: an explicit throttle
        # wins over the budget.
        self.inner_every_given = inner_every_given
        self.outer_every_given = outer_every_given

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"Options({fields})"


def options_dict(options: Options) -> dict[str, object]:
    """The settings as the run's lineage stores them (`options`)."""
    return dict(vars(options))
