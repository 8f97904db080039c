"""The fidelity report: what came back exactly, what was rebuilt
differently, what is missing and what safe mode withheld, each with its
reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# C0 and C1 controls, DEL, and the bidirectional overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def terminal_safe(text: str) -> str:
    """`text` (from a snapshot: a path, a type, a reason, a script name)
    with its control characters escaped, newlines too, as the CLI does
    (crates/cli/src/escape.rs): a snapshot cannot drive the terminal."""
    def sub(m: re.Match[str]) -> str:
        ch = m.group(0)
        if ch in _NAMED:
            return _NAMED[ch]
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{{{ord(ch):x}}}"

    return _UNSAFE.sub(sub, str(text))


@dataclass
class Fidelity:
    restored: list[str] = field(default_factory=list)  # root names restored exactly
    # (path, how it differs): a root listed here (or with a path under it) is
    # not in `restored`.
    rebuilt: list[tuple[str, str]] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    withheld: list[tuple[str, str]] = field(default_factory=list)  # (path, why): safe mode did not load it
    notes: list[str] = field(default_factory=list)  # lines about the session itself

    def rebuilt_as(self, path: str, how: str) -> None:
        self.rebuilt.append((path, how))

    def differs_from_snapshot(self, root: str, path: str, how: str) -> None:
        """The restore check (roundtrip.py) found `path` (under `root`)
        unlike the snapshot: reported as rebuilt, `root` not restored."""
        if all(p != path for p, _ in self.rebuilt):
            self.rebuilt.append((path, f"differs: {how}"))
        self.restored = [name for name in self.restored if name != root]

    def reported(self, path: str) -> bool:
        """Whether `path` or an object above it is already in the report."""
        return any(p == path or (path.startswith(p) and path[len(p)] in ".[{")
                   for p, _ in self.rebuilt + self.missing + self.withheld)

    def differs(self, root: str) -> bool:
        """Whether `root` or anything under it was rebuilt differently."""
        return any(p == root or (p.startswith(root) and p[len(root)] in ".[{")
                   for p, _ in self.rebuilt)

    def lost(self, path: str, why: str) -> None:
        if all(p != path for p, _ in self.missing):
            self.missing.append((path, why))

    def withhold(self, path: str, why: str) -> None:
        if all(p != path for p, _ in self.withheld):
            self.withheld.append((path, why))

    @property
    def exact(self) -> bool:
        return not self.rebuilt and not self.missing and not self.withheld

    def to_json(self) -> dict[str, Any]:
        return {
            "restored": list(self.restored),
            "rebuilt": [{"path": p, "how": h} for p, h in self.rebuilt],
            "missing": [{"path": p, "reason": r} for p, r in self.missing],
            "withheld": [{"path": p, "reason": r} for p, r in self.withheld],
            "notes": list(self.notes),
        }

    def render(self, title: str) -> str:
        lines = [title]
        lines.extend(f"  {note}" for note in self.notes)
        names = ", ".join(self.restored[:12]) + (" ..." if len(self.restored) > 12 else "")
        lines.append(f"  restored: {len(self.restored)} variables" + (f" ({names})" if names else ""))
        if self.rebuilt:
            lines.append(f"  rebuilt:  {len(self.rebuilt)}")
            lines.extend(f"    {path}: {how}" for path, how in self.rebuilt)
        if self.missing:
            lines.append(f"  missing:  {len(self.missing)}")
            lines.extend(f"    {path}: {why}" for path, why in self.missing)
        if self.withheld:
            lines.append(f"  withheld: {len(self.withheld)} (safe mode runs no code from the "
                         "snapshot; --trust loads them)")
            lines.extend(f"    {path}: {why}" for path, why in self.withheld)
        return "\n".join(terminal_safe(line) for line in lines)
