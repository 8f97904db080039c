"""Issue #16, first experiment: which lossless encoding of a changed float
chunk is smallest, on real weights of consecutive epochs.

Reads the `torch.save` files a workload writes with `--save-dir` (one per
epoch), cuts every float tensor of the model and optimizer state into 1 MiB
chunks as the capture does, and sums the zstd-compressed size of each
encoding per epoch after the first:

- plain: the raw bytes (levels 1, 3, 9), and byte-shuffled (all first bytes
  of the elements, then all second bytes...);
- xor-first: XOR of the bit patterns against the first version stored (what
  the store did before), shuffled;
- xor-prev: XOR against the previous epoch's version, shuffled, zstd on the
  whole buffer (levels 1, 3, 9) or on each byte plane alone;
- zigzag-first: as zigzag-prev below, against the first version;
- zigzag-prev: the integer difference of the bit patterns against the
  previous version, zigzag-mapped (small moves either way become small
  unsigned numbers), shuffled, zstd whole or per plane.

    cd bench/workloads
    ../../.venv/bin/python pytorch_mnist.py --samples 1280 --epochs 4 --save-dir /tmp/q3/mnist
    ../../.venv/bin/python pytorch_dcgan.py --samples 160 --epochs 4 --save-dir /tmp/q3/dcgan
    cd ../..; .venv/bin/python bench/delta_encodings.py /tmp/q3/mnist /tmp/q3/dcgan

Needs `zstandard` (scripts/requirements-dev.txt).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import zstandard

CHUNK = 1 << 20
INLINE = 64 * 1024
UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}
SIGNED = {2: np.int16, 4: np.int32, 8: np.int64}


def tensors(obj, prefix=""):
    """(name, numpy array) of every float tensor in a saved state."""
    if isinstance(obj, torch.Tensor):
        if obj.is_floating_point():
            yield prefix, obj.detach().contiguous().view(-1).view(
                {2: torch.int16, 4: torch.int32, 8: torch.int64}[obj.element_size()]
            ).numpy().view(UINT[obj.element_size()])
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from tensors(v, f"{prefix}/{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from tensors(v, f"{prefix}/{i}")


def shuffle(words: np.ndarray) -> list:
    """Byte planes of little-endian words, lowest byte first."""
    width = words.dtype.itemsize
    b = words.view(np.uint8).reshape(-1, width)
    return [np.ascontiguousarray(b[:, k]).tobytes() for k in range(width)]


def zigzag(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    width = new.dtype.itemsize
    d = (new.view(SIGNED[width]) - old.view(SIGNED[width])).astype(SIGNED[width])
    bits = width * 8
    return ((d << 1) ^ (d >> (bits - 1))).view(UINT[width])


COMPRESSORS = {lvl: zstandard.ZstdCompressor(level=lvl) for lvl in (1, 3, 9)}


def z(data: bytes, level: int = 1) -> int:
    return len(COMPRESSORS[level].compress(data))


def encodings(new: np.ndarray, prev: np.ndarray, first: np.ndarray) -> dict:
    raw = new.tobytes()
    xp = new ^ prev
    zz = zigzag(new, prev)
    xp_planes, zz_planes = shuffle(xp), shuffle(zz)
    return {
        "plain L1": z(raw, 1),
        "plain L3": z(raw, 3),
        "plain L9": z(raw, 9),
        "plain shuffled L1": z(b"".join(shuffle(new)), 1),
        "xor-first shuffled L1": z(b"".join(shuffle(new ^ first)), 1),
        "xor-prev unshuffled L1": z(xp.tobytes(), 1),
        "xor-prev shuffled L1": z(b"".join(xp_planes), 1),
        "xor-prev shuffled L3": z(b"".join(xp_planes), 3),
        "xor-prev shuffled L9": z(b"".join(xp_planes), 9),
        "xor-prev per plane L1": sum(min(z(p, 1), len(p)) for p in xp_planes),
        "zigzag-first shuffled L1": z(b"".join(shuffle(zigzag(new, first))), 1),
        "zigzag-prev shuffled L1": z(b"".join(zz_planes), 1),
        "zigzag-prev shuffled L3": z(b"".join(zz_planes), 3),
        "zigzag-prev per plane L1": sum(min(z(p, 1), len(p)) for p in zz_planes),
    }


def workload(folder: Path) -> None:
    files = sorted(folder.glob("epoch*.pt"), key=lambda p: int(p.stem[5:]))
    states = [dict(tensors(torch.load(f, weights_only=True))) for f in files]
    save_size = files[-1].stat().st_size
    totals: dict = {}
    small = 0
    for epoch in range(1, len(states)):
        for name, new in states[epoch].items():
            prev, first = states[epoch - 1][name], states[0][name]
            if new.nbytes <= INLINE:
                small += z(new.tobytes())
                continue
            per = CHUNK // new.dtype.itemsize
            for start in range(0, new.size, per):
                part = slice(start, start + per)
                for k, v in encodings(new[part], prev[part], first[part]).items():
                    totals[k] = totals.get(k, 0) + v
    epochs = len(states) - 1
    float_bytes = sum(a.nbytes for a in states[-1].values())
    print(f"\n{folder.name}: torch.save {save_size / 1e6:.1f} MB per epoch; float tensors "
          f"{float_bytes / 1e6:.1f} MB ({sum(a.nbytes > INLINE for a in states[-1].values())} "
          f"of {len(states[-1])} above 64 KiB); small tensors {small / epochs / 1e6:.2f} MB "
          "compressed per epoch")
    print("| encoding (chunks > 64 KiB) | MB per epoch | torch.save / it |")
    print("| --- | ---: | ---: |")
    for k, v in totals.items():
        per_epoch = v / epochs + small / epochs
        print(f"| {k} | {per_epoch / 1e6:.2f} | {save_size / per_epoch:.2f}x |")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        workload(Path(arg))
