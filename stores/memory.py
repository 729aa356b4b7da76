"""Hand freed memory back to the system between the big steps of a load.

A load works in chunks and parts of a bounded size, but the allocators keep
what they freed: glibc's heap keeps its fragmented free pages and arrow's
pool its blocks. A long load then grows as if it held every chunk it ever
had. Releasing after each step keeps the process at one step's size.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

import pyarrow as pa


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)  # glibc only
    return trim


def release_memory() -> None:
    """Give back what the allocators keep free (a few milliseconds)."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
