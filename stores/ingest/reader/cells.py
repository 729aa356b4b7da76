"""Cells as platforms write them, made plain: Excel's text protection
(="0123", '138...) and the whitespace around a value are dropped, in arrow
and only in the columns whose first and last bytes say they may need it."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# ="0123" (Taobao protects long numbers so Excel keeps them as text), '138... and
# a leading tab (JD) are all ways of saying "this is text": drop the wrapping.
_PROTECTED = re.compile(r'^(?:="(.*)"|=(.*)|\'(.*))$', re.DOTALL)

_PROTECTED_ARROW = r'^="(.*)"$|^=(.*)$|^\'(.*)$'


def clean_cell(value: str) -> str:
    value = value.strip()
    match = _PROTECTED.match(value)
    if match:
        value = next(g for g in match.groups() if g is not None).strip()
    return value


def clean_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Strip whitespace and Excel text protection from every cell."""
    for col in df.columns:
        s = df[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            s = s.str.strip()
            if s.str.startswith(("=", "'")).any():
                s = s.str.replace(r'^="(.*)"$|^=(.*)$|^\'(.*)$', r"\1\2\3", regex=True).str.strip()
            df[col] = s.mask(s == "")
    return df


def _text_bytes(column: pa.Array | pa.ChunkedArray) -> int:
    return int(pc.sum(pc.binary_length(column)).as_py() or 0)


# First bytes that may start whitespace or Excel's protection, last bytes
# that may end whitespace (any multi-byte character's last byte, to be safe).
_SUSPECT_HEAD = np.zeros(256, dtype=bool)


_SUSPECT_HEAD[: 0x21] = True


_SUSPECT_HEAD[[0xC2, 0xE1, 0xE2, 0xE3, ord("="), ord("'")]] = True


_SUSPECT_TAIL = np.zeros(256, dtype=bool)


_SUSPECT_TAIL[: 0x21] = True


_SUSPECT_TAIL[0x80:] = True


def _may_need_cleaning(column: pa.Array) -> bool:
    """False when no cell can start or end with whitespace or start with
    Excel's text protection, judged from first and last bytes alone (a
    multi-byte character at either end counts as possible whitespace)."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return True
    n = len(column)
    buffers = column.buffers()
    offset_type = np.int64 if pa.types.is_large_string(column.type) else np.int32
    offsets: np.ndarray = np.frombuffer(buffers[1], dtype=offset_type)[column.offset : column.offset + n + 1]
    filled = offsets[1:] > offsets[:-1]
    if not filled.any():
        return False
    data = np.frombuffer(buffers[2], dtype=np.uint8)
    head = data[offsets[:-1][filled]]
    tail = data[offsets[1:][filled] - 1]
    return bool(_SUSPECT_HEAD[head].any() or _SUSPECT_TAIL[tail].any())


def clean_table(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """clean_frame in arrow, column by column, before pandas sees the cells."""
    columns = []
    for column in batch.columns:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if not _may_need_cleaning(column):
            columns.append(column)
            continue
        s = pc.utf8_trim_whitespace(column)
        protected = pc.any(pc.starts_with(s, "=")).as_py() or pc.any(pc.starts_with(s, "'")).as_py()
        if protected:
            s = pc.utf8_trim_whitespace(
                pc.replace_substring_regex(s, pattern=_PROTECTED_ARROW, replacement=r"\1\2\3")
            )
        # Empty cells are already null (the CSV reader's null_values): only a
        # cell that trimming shortened can have become empty.
        if protected or _text_bytes(s) != _text_bytes(column):
            s = pc.if_else(pc.equal(s, ""), pa.scalar(None, s.type), s)
        columns.append(s)
    return pa.Table.from_arrays(columns, names=batch.schema.names)


def clean_batch(batch: pa.RecordBatch | pa.Table) -> pd.DataFrame:
    return clean_table(batch).to_pandas()
