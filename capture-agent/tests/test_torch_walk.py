"""The torch walk's shortcuts (issue #16): a module's empty hook registries
entered by their known record, array records hashed once per content. Each
snapshot must hold what a full walk gives, hash for hash."""

from __future__ import annotations

import collections
import json

import pytest
from snapline import _native, graph

torch = pytest.importorskip("torch")


def _recorder(tmp_path):
    return _native.Recorder(str(tmp_path / "store"), json.dumps(
        {"script": "t.py", "started_at": 0.0, "lineage": {}}))


def _snapshot(recorder, committed, roots):
    builder = graph.GraphBuilder(recorder, committed, _native.hash_bytes)
    builder.hold(obj for _, obj in roots)
    for path, obj in roots:
        builder.add_root(path, obj)
    committed |= builder.new_hashes
    return builder


def _full_walk(recorder, roots):
    """The same snapshot with no shortcut: nothing remembered, nothing
    committed (every record described and hashed)."""
    empty, digests = dict(graph._EMPTY_RECORDS), dict(graph._ARRAY_DIGESTS)
    graph._EMPTY_RECORDS.clear()
    graph._ARRAY_DIGESTS.clear()
    try:
        return _snapshot(recorder, set(), roots)
    finally:
        graph._EMPTY_RECORDS.update(empty)
        graph._ARRAY_DIGESTS.update(digests)


def _model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model(torch.randn(3, 4)).sum().backward()
    optimizer.step()
    return model, optimizer


def test_shortcuts_give_the_entries_of_a_full_walk(tmp_path) -> None:
    recorder = _recorder(tmp_path)
    model, optimizer = _model()
    roots = [("model", model), ("optimizer", optimizer)]
    committed: set = set()
    _snapshot(recorder, committed, roots)
    again = _snapshot(recorder, committed, roots)
    assert not again.objects, "nothing changed: nothing new"
    assert again.entries == _full_walk(recorder, roots).entries
    # A registered hook fills one registry: that one is described again.
    handle = model[0].register_forward_hook(lambda *_: None)
    hooked = _snapshot(recorder, committed, roots)
    assert hooked.entries == _full_walk(recorder, roots).entries
    changed = {p for (p, _, h), (_, _, h0) in zip(hooked.entries, again.entries) if h != h0}
    assert "model.0._forward_hooks" in changed
    handle.remove()
    recorder.finish("finished", 1.0)


def test_a_shared_or_attributed_registry_keeps_its_identity(tmp_path) -> None:
    recorder = _recorder(tmp_path)
    model, _ = _model()
    model[2]._forward_hooks = model[0]._forward_hooks  # one object, two paths
    odd = collections.OrderedDict()
    odd.note = "kept"  # an attribute: its pickle says so
    roots = [("model", model), ("odd", odd), ("empty", set())]
    committed: set = set()
    _snapshot(recorder, committed, roots)
    second = _snapshot(recorder, committed, roots)
    assert second.entries == _full_walk(recorder, roots).entries
    nodes = {p: n for p, n, _ in second.entries}
    assert nodes["model.2._forward_hooks"] == nodes["model.0._forward_hooks"]
    hashes = {p: h for p, _, h in second.entries}
    assert hashes["odd"] != hashes["model.1._forward_hooks"]
    recorder.finish("finished", 1.0)


def test_array_records_follow_content_and_metadata(tmp_path) -> None:
    recorder = _recorder(tmp_path)
    model, optimizer = _model()
    roots = [("model", model), ("optimizer", optimizer)]
    committed: set = set()
    first = {p: h for p, _, h in _snapshot(recorder, committed, roots).entries}
    # Written behind autograd's back (no version bump): still seen.
    model[0].weight.detach().numpy()[0, 0] += 1.0
    model[2].bias.requires_grad_(False)
    after = _snapshot(recorder, committed, roots)
    hashes = {p: h for p, _, h in after.entries}
    assert hashes["model.0.weight"] != first["model.0.weight"]
    assert hashes["model.2.bias"] != first["model.2.bias"]
    assert hashes["model.2.weight"] == first["model.2.weight"]
    assert after.entries == _full_walk(recorder, roots).entries
    recorder.finish("finished", 1.0)
