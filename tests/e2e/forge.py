"""Writes forged objects into a store, as an attacker would before
exporting a bundle: records under any hash, chunks with any content
(zstd frames written by hand: raw or run-length blocks, no zstd module
needed), entries under any name. For the hostile-bundle tests."""

from __future__ import annotations

import json
import sqlite3
import struct
from pathlib import Path

from snapline import _native

INLINE_LIMIT = 64 * 1024
_BLOCK = 128 * 1024


def zstd_frame(raw: bytes) -> bytes:
    """A valid zstd frame holding `raw`: run-length blocks where a block is
    one repeated byte, raw blocks otherwise (RFC 8878 3.1)."""
    out = bytearray(struct.pack("<I", 0xFD2FB528))
    out.append(0xE0)  # 8-byte content size, single segment, no checksum
    out += struct.pack("<Q", len(raw))
    blocks = [raw[i:i + _BLOCK] for i in range(0, len(raw), _BLOCK)] or [b""]
    for i, block in enumerate(blocks):
        last = int(i == len(blocks) - 1)
        if block and block.count(block[:1]) == len(block):
            out += ((len(block) << 3) | (1 << 1) | last).to_bytes(3, "little") + block[:1]
        else:
            out += ((len(block) << 3) | last).to_bytes(3, "little") + block
    return bytes(out)


class Forge:
    """One store's catalog, opened for forging."""

    def __init__(self, store: Path) -> None:
        self.store = Path(store)
        self.db = sqlite3.connect(self.store / "catalog.sqlite")

    def close(self) -> None:
        self.db.commit()
        self.db.close()

    def __enter__(self) -> Forge:  # noqa: PYI034 - Python 3.9 has no typing.Self
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def last(self) -> tuple:
        """(run id, seq) of the newest snapshot."""
        return self.db.execute(
            "SELECT run_id, seq FROM snapshots ORDER BY time DESC LIMIT 1").fetchone()

    def chunk(self, raw: bytes) -> str:
        digest = _native.hash_bytes(raw)
        frame = zstd_frame(raw)
        inline = frame if len(raw) <= INLINE_LIMIT else None
        if inline is None:
            path = self.store / "chunks" / digest[:2] / f"{digest}.zst"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(frame)
        self.db.execute("INSERT OR REPLACE INTO chunks (hash, size, stored, inline) "
                        "VALUES (?, ?, ?, ?)", (digest, len(raw), len(frame), inline))
        return digest

    def record(self, record: dict) -> str:
        text = json.dumps(record, sort_keys=True, separators=(",", ":"))
        digest = _native.hash_bytes(text.encode())
        self.db.execute("INSERT OR REPLACE INTO objects (hash, record) VALUES (?, ?)",
                        (digest, text))
        return digest

    def pickle(self, data: bytes, type_name: str = "builtins.object") -> str:
        return self.record({"kind": "pickle", "type": type_name, "restorable": True,
                            "chunks": [self.chunk(data)], "nbytes": len(data),
                            "extra": {"protocol": 5}})

    def reference(self, module: str, qualname: str, ref: str = "function") -> str:
        extra = {"module": module, "qualname": qualname, "ref": ref}
        if ref == "module":
            extra = {"qualname": module, "ref": "module"}
        return self.record({"kind": "reference", "type": "function", "restorable": True,
                            "nbytes": 0, "extra": extra})

    def entry(self, path: str, digest: str, where: tuple | None = None) -> None:
        """Puts `path` -> the object `digest` in a snapshot (the newest)."""
        run_id, seq = where or self.last()
        node = self.db.execute("SELECT COALESCE(MAX(node), 0) + 1 FROM entries "
                               "WHERE run_id = ? AND seq = ?", (run_id, seq)).fetchone()[0]
        self.db.execute("INSERT OR REPLACE INTO entries (run_id, seq, path, node, hash) "
                        "VALUES (?, ?, ?, ?, ?)", (run_id, seq, path, node, digest))
