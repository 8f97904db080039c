"""Compact Mersenne Twister records (rng.compact_state / decode_state):
exact round trips, and anything else left to the ordinary walk."""

from __future__ import annotations

import random

import numpy as np
from snapline import rng


def _round_trip(state):
    words, extra, preview = rng.compact_state(state)
    assert extra["encoding"] == rng.ENCODING and "Mersenne Twister" in preview
    return rng.decode_state(extra, words)


def test_python_random_states_round_trip_exactly() -> None:
    generator = random.Random(7)
    for _ in range(3):
        state = generator.getstate()
        assert _round_trip(state) == state
        generator.gauss(0.0, 1.0)  # a cached gauss_next, then another draw
        generator.random()
    restored = random.Random()
    restored.setstate(_round_trip(generator.getstate()))
    assert [restored.random() for _ in range(5)] == [generator.random() for _ in range(5)]


def test_numpy_legacy_states_round_trip_exactly() -> None:
    legacy = np.random.RandomState(3)
    legacy.standard_normal()  # has_gauss = 1
    state = legacy.get_state()
    back = _round_trip(state)
    assert back[0] == state[0] and back[2:] == state[2:]
    assert back[1].dtype == np.uint32 and np.array_equal(back[1], state[1])
    other = np.random.RandomState()
    other.set_state(back)
    assert other.standard_normal() == legacy.standard_normal()


def test_other_tuples_are_not_rng_states() -> None:
    assert rng.compact_state((3, (1, -2, 0), None)) is None  # a negative word
    assert rng.compact_state((3, (1, 2, 9), None)) is None  # a position past the words
    assert rng.compact_state((3, (1, 2 ** 32, 0), None)) is None  # too wide
    assert rng.compact_state((3, (1.0, 2, 3), None)) is None
    assert rng.compact_state((1, 2, 3)) is None
    assert rng.compact_state(("MT19937", np.zeros(3, np.int64), 0, 0, 0.0)) is None


def test_a_damaged_chunk_is_an_error_not_a_state() -> None:
    words, extra, _ = rng.compact_state(random.getstate())
    try:
        rng.decode_state(extra, words[:-4])
    except ValueError as err:
        assert "damaged" in str(err)
    else:
        raise AssertionError("a short chunk decoded")
