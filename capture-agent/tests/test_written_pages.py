"""Issue #16: the written pages of a large array are tracked by the kernel
between scans (userfaultfd + PAGEMAP_SCAN, capture-agent/src/written_pages.rs)
and only their chunks are hashed. The tracking path and the full hashing
path must give the same chunk hashes on the same state."""

from __future__ import annotations

import json

import numpy as np
from snapline import _native

MIB = 1 << 20


def _recorder(tmp_path):
    return _native.Recorder(str(tmp_path / "store"), json.dumps(
        {"script": "t.py", "started_at": 0.0, "lineage": {}}))


def _both(recorder, a):
    address = a.__array_interface__["data"][0]
    tracked, _ = recorder.scan_array(address, a.nbytes, "float32", None, True)
    hashed, _ = recorder.scan_array(address, a.nbytes, "float32")
    return tracked, hashed


def test_tracked_and_hashed_chunks_agree_as_pages_are_written(tmp_path) -> None:
    recorder = _recorder(tmp_path)
    a = np.arange(80 * MIB // 4, dtype=np.float32)  # 80 MiB, its own mapping
    address = a.__array_interface__["data"][0]
    first, _ = _both(recorder, a)
    for _ in range(2):  # steady twice: tracked from the third scan on
        tracked, hashed = _both(recorder, a)
        assert tracked == hashed == first
    if not recorder.written_pages_tracked(address):
        # No userfaultfd with WP_ASYNC here: everything was hashed, which
        # is the fallback this test also checks (same hashes).
        return
    before = first
    # Writes in various pages: the first element, one in the middle of a
    # chunk, the last element, two pages of one chunk, a whole chunk.
    for step, change in enumerate(([0], [5 * MIB // 4 + 1234], [a.size - 1],
                                   [40 * MIB // 4, 40 * MIB // 4 + 3000],
                                   list(range(MIB // 4, MIB // 2)))):
        a[change] = -1.5 - step  # the values were >= 0: each element changes
        tracked, hashed = _both(recorder, a)
        assert tracked == hashed
        changed = {i for i, (x, y) in enumerate(zip(before, tracked)) if x != y}
        assert changed == {i * 4 // MIB for i in change}
        before = tracked
        assert recorder.written_pages_tracked(address)
    # Nothing written: the same hashes, still tracked.
    tracked, hashed = _both(recorder, a)
    assert tracked == hashed == before


def test_a_copy_or_a_small_array_is_hashed_in_full(tmp_path) -> None:
    recorder = _recorder(tmp_path)
    small = np.ones(MIB // 16, dtype=np.float32)  # 256 KiB: under the threshold
    address = small.__array_interface__["data"][0]
    for _ in range(4):
        recorder.scan_array(address, small.nbytes, "float32", None, True)
    assert not recorder.written_pages_tracked(address)
    big = np.ones(80 * MIB // 4, dtype=np.float32)
    address = big.__array_interface__["data"][0]
    for _ in range(4):  # not trackable (a temporary copy): never tracked
        recorder.scan_array(address, big.nbytes, "float32")
    assert not recorder.written_pages_tracked(address)


def test_a_freed_and_reallocated_buffer_falls_back(tmp_path) -> None:
    recorder = _recorder(tmp_path)
    a = np.zeros(80 * MIB // 4, dtype=np.float32)
    address = a.__array_interface__["data"][0]
    for _ in range(3):
        recorder.scan_array(address, a.nbytes, "float32", None, True)
    del a
    b = np.ones(80 * MIB // 4, dtype=np.float32)  # often the same address
    address_b = b.__array_interface__["data"][0]
    tracked, _ = recorder.scan_array(address_b, b.nbytes, "float32", None, True)
    hashed, _ = recorder.scan_array(address_b, b.nbytes, "float32")
    assert tracked == hashed


def test_neighbouring_buffers_of_a_few_mib_agree_with_hashing(tmp_path) -> None:
    # Four 2 MiB + 100 byte buffers back to back in one mapping (not page
    # aligned: each shares a page with the next, whose writes count as its own).
    recorder = _recorder(tmp_path)
    n = (2 * MIB + 100) // 4
    base = np.arange(4 * n + 1024, dtype=np.float32)
    parts = [base[1 + i * n:1 + (i + 1) * n] for i in range(4)]
    for _ in range(3):  # steady: tracked from the third scan on, where possible
        for part in parts:
            tracked, hashed = _both(recorder, part)
            assert tracked == hashed
    for step, (i, j) in enumerate([(0, 0), (1, 0), (0, n - 1), (3, n // 2), (2, 5)]):
        parts[i][j] = -1.0 - step
        base[0] = step  # the first part's neighbour, on its first page
        for part in parts:
            tracked, hashed = _both(recorder, part)
            assert tracked == hashed


def test_a_tracked_buffer_rewritten_whole_is_no_longer_tracked(tmp_path) -> None:
    # Steady at first (a model's weights before training), then rewritten
    # at every step: hashing it costs less than a page fault per page.
    recorder = _recorder(tmp_path)
    w = np.zeros(4 * MIB // 4, dtype=np.float32)
    address = w.__array_interface__["data"][0]
    for _ in range(3):
        _both(recorder, w)
    if not recorder.written_pages_tracked(address):
        return  # no userfaultfd here: hashed in full, checked above
    for step in range(3):
        w += 1.0
        tracked, hashed = _both(recorder, w)
        assert tracked == hashed
    assert not recorder.written_pages_tracked(address)


def test_an_array_filled_block_by_block_stops_being_tracked(tmp_path) -> None:
    # A signal built in a loop (np.empty, then a block per iteration): with
    # a sixteenth or less written between scans it stays tracked; past it,
    # every written page's fault costs more than hashing the whole buffer.
    recorder = _recorder(tmp_path)
    a = np.zeros(64 * MIB // 4, dtype=np.float32)  # 64 chunks
    address = a.__array_interface__["data"][0]
    for _ in range(3):
        _both(recorder, a)
    if not recorder.written_pages_tracked(address):
        return  # no userfaultfd here: hashed in full, checked above
    quarter_mib = MIB // 4  # float32 elements per chunk
    a[:2 * quarter_mib] = 1.0  # 2 of 64 chunks
    tracked, hashed = _both(recorder, a)
    assert tracked == hashed
    assert recorder.written_pages_tracked(address)
    a[2 * quarter_mib:10 * quarter_mib] = 2.0  # 8 of 64: an eighth
    tracked, hashed = _both(recorder, a)
    assert tracked == hashed
    assert not recorder.written_pages_tracked(address)
