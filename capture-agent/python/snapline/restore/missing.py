"""The two ways an object of a snapshot does not come back: `Missing` (it
cannot be rebuilt) and `Withheld` (safe mode will not load it). Raised by
rebuild.py, safety.py, optimizers.py and functions.py, reported by
`rebuild.report_failure`; their own module so that none of those imports
another just for them."""

from __future__ import annotations


class Missing(Exception):
    """An object that cannot be rebuilt; the message is the reason."""


class Withheld(Missing):
    """An object safe mode does not load (it would run code from the
    snapshot); the message is the reason."""
