"""Exact duplicate lines across a whole file, in 12 bytes a row.

Each line is hashed to 64 bits from its cells' bytes with numpy, straight
from the arrow buffers (hashing the strings through pandas costs more than
the rest of validation). The hashes seen so far are kept in a few sorted
runs whose sizes halve from one to the next, so memory grows by 12 bytes a
row, never holds the rows themselves, and adding a chunk costs its own size
(amortised), not the file's; a file of millions of rows keeps a few full
runs and looks a chunk up in each.

A caller whose own checks catch a repeat of the earlier rows (a store's first
import, where an order listed again fails its unique key) forgets them
(``forget_before``): memory then stays that of a chunk or two.
"""

from __future__ import annotations

import hashlib
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

_PRIME = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_NULL = np.uint64(0x9E3779B97F4A7C15)  # a missing cell: distinct from any text
_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
# _TAIL[k]: the low k bytes of a word.
_TAIL = np.array([0] + [(1 << (8 * k)) - 1 for k in range(1, 8)] + [0xFFFFFFFFFFFFFFFF], dtype=np.uint64)

Table: TypeAlias = pa.Table | pa.RecordBatch
# Cells longer than this (bytes) are hashed one by one.
LONG_CELL = 1024


def _avalanche(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place."""
    h ^= h >> np.uint64(30)
    h *= _MIX1
    h ^= h >> np.uint64(27)
    h *= _MIX2
    h ^= h >> np.uint64(31)
    return h


def cell_hashes(column: pa.Array) -> np.ndarray:
    """A 64-bit hash of each cell of a string column (null distinct from text)."""
    n = len(column)
    buffers = column.buffers()
    offset_type = np.int64 if pa.types.is_large_string(column.type) or pa.types.is_large_binary(column.type) else np.int32
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[column.offset : column.offset + n + 1].astype(np.int64)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.empty(0, np.uint8)
    starts = offsets[:-1]
    lengths = offsets[1:] - starts
    h = _avalanche(lengths.astype(np.uint64))
    long_cells = np.flatnonzero(lengths > LONG_CELL)
    if len(long_cells):
        # A word at a time costs a numpy pass per 8 bytes of the longest
        # cell (a 9 MB note: a million passes): the rare long cells are
        # hashed one by one instead, and the loop stops at LONG_CELL.
        for i in long_cells.tolist():
            digest = hashlib.blake2b(data[offsets[i] : offsets[i + 1]].tobytes(), digest_size=8).digest()
            h[i] = np.uint64(int.from_bytes(digest, "little"))
        lengths = np.where(lengths > LONG_CELL, 0, lengths)
    longest = int(lengths.max()) if n else 0
    if longest:
        first, last = int(offsets[0]), int(offsets[-1])
        padded = np.zeros(last - first + 8, dtype=np.uint8)
        padded[: last - first] = data[first:last]
        # words[i] is the 8 bytes from byte i on: an unaligned view, no copy.
        words = np.ndarray(shape=(last - first + 1,), dtype="<u8", buffer=padded.data, strides=(1,))
        starts = starts - first
        shortest = int(lengths.min())
        live: np.ndarray | slice = slice(None)
        for w in range(0, longest, 8):
            if w + 8 > shortest:
                live = np.flatnonzero(lengths > w)  # cells longer than w bytes
            word = words[starts[live] + w]
            if w + 8 > shortest:
                word &= _TAIL[np.minimum(lengths[live] - w, 8)]
            part = h[live]
            part ^= word
            part *= _PRIME
            h[live] = _avalanche(part)
    if column.null_count:
        h[np.asarray(column.is_null())] = _NULL
    return h


def row_hashes(frame: pd.DataFrame | Table) -> np.ndarray:
    """A 64-bit hash of each row's cells (NA distinct from any text)."""
    if isinstance(frame, pd.DataFrame):
        table: Table = pa.Table.from_pandas(frame.astype("str"), preserve_index=False)
    else:
        table = frame
    n = table.num_rows
    h = np.full(n, _MIX2, dtype=np.uint64)
    if n == 0:
        return h
    for column in table.columns:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            column = column.cast(pa.large_string())
        h ^= cell_hashes(column)
        h *= _PRIME
        _avalanche(h)
    return h


# Runs stop merging at this many rows (12MB): a merge then never needs more
# than twice that on top of the hashes themselves, whatever the file's size.
RUN_CAP = 1 << 20


class SortedRuns:
    """A set of 64-bit hashes, each with a value, that grows a chunk at a time.

    Kept as a few sorted runs, each smaller than the one before it until
    RUN_CAP: adding costs the chunk's own size (amortised), not the whole
    set's, and a lookup is a binary search in each run.
    """

    def __init__(self, *, merge: bool = True) -> None:
        """``merge=False``: one run per ``add``, so that runs can be dropped."""
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []
        self._merge = merge

    def find(self, hashes: np.ndarray, missing: int = -1) -> np.ndarray:
        """Each hash's value, or ``missing``."""
        found = np.full(len(hashes), missing, dtype=np.int64)
        for run, values in self.runs:
            idx = np.searchsorted(run, hashes).clip(0, len(run) - 1)
            hit = run[idx] == hashes
            found[hit] = values[idx[hit]]
        return found

    def add(self, hashes: np.ndarray, values: np.ndarray) -> None:
        """Add hashes that are not in the set yet, and not repeated."""
        if len(hashes) == 0:
            return
        order = np.argsort(hashes, kind="stable")
        self.runs.append((hashes[order], values[order]))
        while self._merge and len(self.runs) > 1:
            (h2, r2), (h1, r1) = self.runs[-1], self.runs[-2]
            if len(h2) * 2 <= len(h1) or len(h1) + len(h2) > RUN_CAP:
                break
            self.runs[-2:] = [_merge(h1, r1, h2, r2)]


class DuplicateFinder:
    def __init__(self, *, forgetting: bool = False) -> None:
        """``forgetting``: the caller will ``forget_before`` as it goes, and
        the hashes are kept a chunk a run so that old ones can be dropped."""
        # Each row's hash, with the number of the first row that had it.
        self.seen = SortedRuns(merge=not forgetting)

    def forget_before(self, row: int) -> None:
        """Stop looking for repeats of the rows before ``row`` (file order):
        the caller catches those itself. Runs holding a later row are kept."""
        self.seen.runs = [(run, rows) for run, rows in self.seen.runs if len(rows) and int(rows.max()) >= row]

    @property
    def runs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return self.seen.runs

    def first_rows(self, raw: pd.DataFrame | Table, row_no: np.ndarray) -> np.ndarray:
        """For each row, the earlier row it duplicates, or 0."""
        h = row_hashes(raw)
        n = len(h)
        out = np.zeros(n, dtype=np.int64)
        if n == 0:
            return out
        order = np.argsort(h, kind="stable")
        sorted_h = h[order]
        # In sorted order: the earlier chunk's row, or 0.
        seen = self.seen.find(sorted_h, missing=0)
        # Within the chunk: the first row of each hash (rows come in file order).
        group_start = np.empty(n, dtype=bool)
        group_start[0] = True
        np.not_equal(sorted_h[1:], sorted_h[:-1], out=group_start[1:])
        first_pos = order[np.maximum.accumulate(np.where(group_start, np.arange(n), 0))]
        first = np.where(seen != 0, seen, np.where(group_start, 0, row_no[first_pos]))
        out[order] = first
        new = group_start & (seen == 0)
        if new.any():
            self.seen.add(sorted_h[new], row_no[order[new]].astype(np.int32))
        return out


def _merge(h1: np.ndarray, r1: np.ndarray, h2: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two sorted runs as one (no hash is in both)."""
    at = np.searchsorted(h1, h2) + np.arange(len(h2))
    hashes = np.empty(len(h1) + len(h2), dtype=h1.dtype)
    rows = np.empty(len(hashes), dtype=np.result_type(r1.dtype, r2.dtype))
    second = np.zeros(len(hashes), dtype=bool)
    second[at] = True
    hashes[at], rows[at] = h2, r2
    hashes[~second], rows[~second] = h1, r1
    return hashes, rows
