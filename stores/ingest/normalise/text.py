"""Text cells in arrow: the helpers the other parsers share, and the small
parsers of ids, yes/no cells and lookups."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TEXT = pa.large_string()


def as_arrow(raw: pd.Series) -> pa.Array:
    """The cells as one arrow string array (no copy for pandas' str dtype)."""
    values = pa.array(raw, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_large_string(values.type) or pa.types.is_string(values.type)):
        values = values.cast(TEXT)
    return values


def text_series(values: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(values.to_pandas().array, index=index, copy=False)


def longest(raw: pd.Series) -> int:
    """An upper bound of the longest cell's length in characters (its bytes)."""
    lengths = pc.binary_length(as_arrow(raw))
    return int(pc.max(lengths).as_py() or 0)


def fast_float(raw: pd.Series) -> pd.Series | None:
    """Every present cell as a float when all of them are plain numbers
    (arrow's cast is ten times pd.to_numeric on strings), else None."""
    try:
        values = pc.cast(as_arrow(raw), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return pd.Series(values.to_numpy(zero_copy_only=False), index=raw.index, dtype="float64")


def map_values(raw: pd.Series, table: Mapping[str, object] | Callable[[str], object]) -> pd.Series:
    """``raw.map(table)`` looking each distinct value up once (NA stays NA)."""
    codes, uniques = pd.factorize(raw)
    lookup = table.get if isinstance(table, Mapping) else table
    mapped = np.array([lookup(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=raw.index, dtype=object)


def map_text(raw: pd.Series, lookup: Callable[[str], str | None]) -> pd.Series:
    """``raw.map(lookup)`` as text, looking each distinct value up once in
    arrow (NA stays NA; a lookup's None is NA)."""
    values = as_arrow(raw)
    if values.null_count == len(values):
        return pd.Series(pd.NA, index=raw.index, dtype="str")
    encoded = pc.dictionary_encode(values)
    mapped = pa.array([lookup(u) for u in encoded.dictionary.to_pylist()], type=TEXT)
    return text_series(mapped.take(encoded.indices), raw.index)


def identifiers(raw: pd.Series) -> pd.Series:
    """Ids as text; spreadsheet floats such as ``14620.0`` become ``14620``."""
    if not pc.any(pc.match_substring(as_arrow(raw), ".0")).as_py():
        return raw
    return raw.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def scientific_notation(raw: pd.Series) -> pd.Series:
    """Which ids a spreadsheet turned into ``3.761E+18``: their digits are lost."""
    values = as_arrow(raw)
    found = pc.match_substring_regex(values, r"^\d(\.\d+)?[eE][+-]?\d+$")
    return pd.Series(np.asarray(pc.fill_null(found, False)), index=raw.index)


_TRUE = ("1", "true", "yes", "y", "是")

_FALSE = ("0", "false", "no", "n", "否")


def booleans(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    values = as_arrow(raw)
    present = np.asarray(values.is_valid())
    lowered = pc.utf8_lower(values)
    yes = np.asarray(pc.is_in(lowered, value_set=pa.array(_TRUE, type=values.type)))
    no = np.asarray(pc.is_in(lowered, value_set=pa.array(_FALSE, type=values.type)))
    known = yes | no
    value = pd.arrays.BooleanArray(yes, ~known)
    return pd.Series(value, index=raw.index), pd.Series(present & ~known, index=raw.index)
