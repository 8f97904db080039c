# The Rust extension (src/): typed here as a module of Any until its
# classes get stubs of their own.
from typing import Any

def __getattr__(name: str) -> Any: ...
