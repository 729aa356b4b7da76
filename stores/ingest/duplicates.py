"""Exact duplicate lines across a whole file, in 12 bytes a row.

Each line is hashed to 64 bits from its cells' bytes with numpy (hashing the
strings through pandas costs more than the rest of validation), and the
hashes seen so far are kept sorted, so memory grows by 12 bytes a row and
never holds the rows themselves.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_PRIME = np.uint64(0x100000001B3)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_NULL = "\x00"  # cleaned cells are never empty strings: a missing cell is NA
_SEPARATOR = "\x1f"


def _avalanche(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(30))
    h = h * _MIX1
    h = h ^ (h >> np.uint64(27))
    h = h * _MIX2
    return h ^ (h >> np.uint64(31))


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A 64-bit hash of each row's cells (NA distinct from any text)."""
    if len(frame) == 0:
        return np.empty(0, dtype=np.uint64)
    table = pa.Table.from_pandas(frame.astype("str"), preserve_index=False)
    text = pa.large_string()
    cells = [pc.fill_null(col.cast(text), pa.scalar(_NULL, text)) for col in table.columns]
    joined = pc.binary_join_element_wise(*cells, pa.scalar(_SEPARATOR, text))
    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    n = len(joined)
    _, offsets_buf, data_buf = joined.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[joined.offset : joined.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    padded = np.zeros(len(data) + 8, dtype=np.uint8)
    padded[: len(data)] = data
    # words[i] is the 8 bytes from byte i on: an unaligned view, no copy.
    words = np.ndarray(shape=(len(data) + 1,), dtype="<u8", buffer=padded.data, strides=(1,))
    starts = offsets[:-1]
    lengths = offsets[1:] - starts
    h = _avalanche(lengths.astype(np.uint64))
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    shortest = int(lengths.min())
    live: np.ndarray | slice = slice(None)
    for w in range(0, int(lengths.max()), 8):
        if w >= shortest:
            live = np.flatnonzero(lengths > w)  # rows longer than w bytes, in file order
        rest = np.minimum(lengths[live] - w, 8).astype(np.uint64)
        mask = np.where(rest >= 8, ones, (np.uint64(1) << (rest * np.uint64(8))) - np.uint64(1))
        word = words[starts[live] + w] & mask
        h[live] = _avalanche((h[live] ^ word) * _PRIME)
    return h


class DuplicateFinder:
    def __init__(self) -> None:
        self.hashes = np.empty(0, dtype=np.uint64)
        self.rows = np.empty(0, dtype=np.int32)  # row numbers: a file has fewer than 2**31

    def first_rows(self, raw: pd.DataFrame, row_no: np.ndarray) -> np.ndarray:
        """For each row, the earlier row it duplicates, or 0."""
        h = row_hashes(raw)
        out = np.zeros(len(h), dtype=np.int64)
        if len(self.hashes):
            idx = np.searchsorted(self.hashes, h).clip(0, len(self.hashes) - 1)
            hit = self.hashes[idx] == h
            out[hit] = self.rows[idx[hit]]
        # Within the chunk: the first row of each hash (rows come in file order).
        order = np.argsort(h, kind="stable")
        sorted_h = h[order]
        group_start = np.r_[True, sorted_h[1:] != sorted_h[:-1]]
        first_pos = order[np.maximum.accumulate(np.where(group_start, np.arange(len(h)), 0))]
        inner = ~group_start
        dup_in_chunk = np.zeros(len(h), dtype=bool)
        dup_in_chunk[order[inner]] = True
        later = order[inner]
        out[later] = np.where(out[later] == 0, row_no[first_pos[inner]], out[later])
        new = (out == 0) & ~dup_in_chunk
        if new.any():
            new_h = h[new]
            new_rows = row_no[new].astype(np.int32)
            by_hash = np.argsort(new_h, kind="stable")
            new_h, new_rows = new_h[by_hash], new_rows[by_hash]
            at = np.searchsorted(self.hashes, new_h)
            self.hashes = np.insert(self.hashes, at, new_h)
            self.rows = np.insert(self.rows, at, new_rows)
        return out
