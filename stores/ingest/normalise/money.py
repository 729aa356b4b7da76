"""Money and counts as exports write them: ``¥1,234.50``, ``1.234,50 €``,
``(12.00)``, ``12.00-``; a column's decimal comma is settled once
(conventions.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stores.ingest.conventions import Convention
from stores.ingest.normalise.text import as_arrow, fast_float, text_series

# A decimal comma: ",50" or ",5" ending the number (before any currency sign,
# closing bracket or trailing minus). One such cell makes it the column's way.
_DECIMAL_COMMA = r",\d{1,2}[^\d,.]*$"

# Cells that read differently in a decimal-comma column: 1.000 and 1,234.
_THOUSANDS_DOT = r"^-?\d{1,3}(?:\.\d{3})+$"

_THOUSANDS = r"^[^\d]*\d{1,3}(?:[.,]\d{3})+[^\d,.]*$"


def money(raw: pd.Series, convention: Convention | None = None) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(canonical decimal text, float value, invalid mask) for money cells.

    Accepts ``1234.5``, ``¥1,234.50``, ``1.234,50 €``, ``$ 12``, ``-3.2`` and
    accounting negatives ``(12.00)`` and ``12.00-``. A cell that shows its
    decimal separator keeps it; ``1.000`` and ``1,234`` are read the column's
    way: once a cell of the column writes a decimal comma, ``1.000`` is one
    thousand and ``1,234`` is rejected; otherwise they read as today, 1.000
    and 1234. The text keeps the exact decimal for PostgreSQL's numeric; the
    float is for checks. ``convention`` carries the column's way from chunk
    to chunk of a file (see ``conventions``).
    """
    values = as_arrow(raw)
    if values.null_count == len(values):
        return raw, pd.Series(np.nan, index=raw.index), pd.Series(False, index=raw.index)
    settled = convention.settled if convention is not None else None
    fast = fast_float(raw)
    if fast is not None and fast.isna().sum() == values.null_count and not settled:
        # Every present cell is a plain number: its text is already canonical.
        if convention is not None and any_match(values, _THOUSANDS_DOT):
            convention.assume(False)  # "1.000" read as one
        return raw, fast, pd.Series(False, index=raw.index)
    value = (fast if fast is not None else pd.to_numeric(raw, errors="coerce")).astype("float64")
    text = raw.copy()
    redo = (raw.notna() & value.isna()).to_numpy(dtype=bool, copy=True)
    decimal_comma = settled if settled is not None else any_match(values, _DECIMAL_COMMA)
    if convention is not None and settled is None:
        if decimal_comma:
            convention.settle(True)
        elif any_match(values, _THOUSANDS):
            convention.assume(False)
    if decimal_comma:
        # pandas read "1.000" as one: read it again the column's way.
        redo |= np.asarray(pc.fill_null(pc.match_substring(values, "."), False))
    if redo.any():
        text_redo, value_redo = _money_text(values.filter(pa.array(redo)), decimal_comma=decimal_comma)
        value[redo] = value_redo
        text[redo] = text_series(text_redo, raw.index[redo])
    invalid = raw.notna() & value.isna()
    return text.where(value.notna()), value, invalid


def any_match(values: pa.Array, pattern: str) -> bool:
    return bool(pc.any(pc.match_substring_regex(values, pattern)).as_py())


def _money_text(values: pa.Array, *, decimal_comma: bool) -> tuple[pa.Array, np.ndarray]:
    """The cells as plain decimal text (``-1234.50``) and as floats; null and
    NaN where a cell is not a number (or, in a decimal-comma column, is
    ``1,234``)."""
    s = pc.replace_substring_regex(values, r"[^\d,.\-()]", "")
    negative = pc.match_substring_regex(s, r"^\(.*\)$|^-|-$")
    s = pc.replace_substring_regex(pc.replace_substring_regex(s, r"^\((.*)\)$", r"\1"), r"^-|-$", "")
    comma = pc.match_substring_regex(s, r"^[\d.]*,\d{1,2}$")
    if decimal_comma:
        comma = pc.or_(comma, pc.match_substring_regex(s, r"^\d{1,3}(?:\.\d{3})+$"))
        s = pc.if_else(pc.match_substring_regex(s, r"^\d{1,3}(?:,\d{3})+$"), pa.scalar(None, s.type), s)
    s = pc.if_else(
        comma,
        pc.replace_substring(pc.replace_substring(s, ".", ""), ",", "."),
        pc.replace_substring(s, ",", ""),
    )
    s = pc.if_else(negative, pc.binary_join_element_wise(pa.scalar("-", s.type), s, pa.scalar("", s.type)), s)
    number = pc.fill_null(pc.match_substring_regex(s, r"^-?(?:\d+\.?\d*|\.\d+)$"), False)
    s = pc.if_else(number, s, pa.scalar(None, s.type))
    return s, np.asarray(pc.cast(s, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")


def money_values(raw: pd.Series) -> pd.Series:
    return money(raw)[1]


def integers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(Int64 values, invalid mask); ``6.0`` is 6, ``6.5`` is invalid."""
    fast = fast_float(raw)
    value = fast if fast is not None else pd.to_numeric(raw, errors="coerce")
    if fast is None and value.isna().any() and raw.notna().any():
        value = pd.to_numeric(raw.str.replace(",", "", regex=False), errors="coerce")
    floats = value.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        whole = (np.floor(floats) == floats) & (np.abs(floats) < 2**31)
    invalid = raw.notna().to_numpy() & ~whole
    counts = pd.arrays.IntegerArray(np.where(whole, floats, 0).astype(np.int64), ~whole)
    return pd.Series(counts, index=raw.index), pd.Series(invalid, index=raw.index)
