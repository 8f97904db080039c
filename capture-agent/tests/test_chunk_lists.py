"""A large value's record names a chunk-list tree (issue #16): the walker
stores the tree's new nodes with the snapshot, and a value changed in one
place adds a node per level, not a record listing every chunk."""

from __future__ import annotations

import json

from snapline import _native, graph, values


class PieceRecorder:
    """Stores nothing; cuts a value into 200-byte pieces (the real recorder
    cuts at content-defined boundaries)."""

    def put_value(self, data: bytes) -> list[str]:
        return [_native.hash_bytes(data[i:i + 200]) for i in range(0, len(data), 200)]

    put_blob = put_value


def _walk(obj: object, committed: set[str]) -> graph.GraphBuilder:
    builder = graph.GraphBuilder(PieceRecorder(), committed, _native.hash_bytes)
    builder.add_root("counts", obj)
    return builder


def _leaves(root: str, records: dict[str, dict]) -> list[str]:
    node = records[root]
    out = list(node.get("chunks") or [])
    for child in (node.get("extra") or {}).get("chunk_lists") or []:
        out.extend(_leaves(child, records))
    return out


def test_the_walker_and_the_store_agree_on_the_threshold() -> None:
    assert graph.CHUNK_LIST_OVER == _native.CHUNK_LIST_OVER


def test_a_large_value_names_a_tree_of_its_chunks() -> None:
    counts = {f"user{i:05d}": i for i in range(5000)}
    first = _walk(counts, set())
    records = dict(first.objects)
    ((_, _, digest),) = first.entries
    value = records[digest]
    assert "chunks" not in value
    root = value["extra"]["chunk_list"]
    text = json.dumps(values.encode(counts), separators=(",", ":"))
    assert _leaves(root, records) == PieceRecorder().put_value(text.encode())
    nodes = [r for r in records.values() if r["kind"] == "chunk_list"]
    assert len(nodes) > 5

    # One key changed: the next snapshot adds the value record and one node
    # per level, whatever the size.
    counts["user02500"] += 1
    second = _walk(counts, first.new_hashes)
    new = dict(second.objects)
    assert sum(r["kind"] == "chunk_list" for r in new.values()) <= 4
    assert len(new) <= 5
