"""Integer arrays of 2, 4 and 8-byte elements are stored byte-shuffled (a
"SLXS" frame, as float chunks are: zstd on interleaved small integers was
several times slower and larger, issue #16), 1-byte ones as plain zstd;
either way they restore bit for bit."""

from __future__ import annotations

from pathlib import Path

from conftest import BIN, PYTHON, run

SCRIPT = """
import numpy as np

rng = np.random.default_rng(0)
ids = rng.integers(0, 50_000, 300_000)                         # int64
counts = rng.poisson(3, 200_000).astype(np.int32)
pixels = rng.integers(0, 4096, 300_000).astype(np.uint16)
labels = rng.integers(-100, 100, 300_000).astype(np.int8)
print("built")
"""

DIGEST = """
import hashlib
print("DIGEST", hashlib.sha256(b"".join(a.tobytes() for a in (ids, counts, pixels, labels)))
      .hexdigest())
"""


def frame_kinds(store: Path) -> list:
    """(magic, width byte) of every chunk file."""
    kinds = []
    for path in (store / "chunks").rglob("*.zst"):
        head = path.read_bytes()[:6]
        kinds.append((head[:4], head[5] if head[:4] == b"SLXS" else None))
    return kinds


def test_integer_chunks_are_shuffled_and_restore_bit_for_bit(sl) -> None:
    done = sl.capture(sl.script(SCRIPT, "ints.py"))
    assert done.returncode == 0, done.stderr
    kinds = frame_kinds(sl.store)
    assert {width for magic, width in kinds if magic == b"SLXS"} == {2, 4, 8}, kinds
    # int8 has nothing to shuffle: plain zstd frames.
    assert (b"\x28\xb5\x2f\xfd", None) in kinds, kinds
    expected = run([PYTHON, "-c", SCRIPT + DIGEST])
    restored = run([BIN, "--store", sl.store, "restore", "last@last", "-c", DIGEST])
    assert restored.returncode == 0, restored.stderr
    digest = [line for line in expected.stdout.splitlines() if line.startswith("DIGEST")]
    assert digest and digest[0] in restored.stdout.splitlines(), (expected.stdout,
                                                                   restored.stdout)
    assert sl.cli("fsck")["problems"] == []
