"""Whose numbers an object holds (ownership.py): the user's state is
reported by `snapline nan`, a library object's own values are not."""

from __future__ import annotations

import argparse
import collections

import pytest
from snapline import ownership


class Run:  # a class of the user's code (this test module is no installed package)
    pass


def test_the_users_classes_and_plain_containers() -> None:
    assert ownership.owner_of(Run()) == ownership.USER
    for transparent in ([], {}, (1,), collections.OrderedDict(), argparse.Namespace(), 1.5):
        assert ownership.owner_of(transparent) is None, type(transparent)


def test_installed_libraries_and_the_state_they_hold_for_the_user() -> None:
    np = pytest.importorskip("numpy")
    assert ownership.owner_of(np.random.default_rng(0)) == ownership.LIBRARY
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(2, 1)
    assert ownership.owner_of(model) == ownership.USER
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert ownership.owner_of(optimizer) == ownership.USER
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
    assert ownership.owner_of(plateau) == ownership.LIBRARY


def test_a_matplotlib_figure_is_a_librarys() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        assert ownership.owner_of(fig) == ownership.LIBRARY
        assert ownership.owner_of(ax.transData) == ownership.LIBRARY
    finally:
        plt.close(fig)
