"""Vectorised parsers for what exports write: money, times, counts, ids.

Each returns the parsed values and a mask of the cells that were present but
could not be parsed, so validation can say which row and why.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
# What exports write most; anything else goes through pandas' slower parsers.
_FAST_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def _arrow(raw: pd.Series) -> pa.Array | pa.ChunkedArray:
    return pa.array(raw, type=pa.string(), from_pandas=True)


def _fast_float(raw: pd.Series) -> pd.Series | None:
    """Every present cell as a float when all of them are plain numbers
    (arrow's cast is ten times pd.to_numeric on strings), else None."""
    try:
        values = pc.cast(_arrow(raw), pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return pd.Series(values.to_numpy(zero_copy_only=False), index=raw.index, dtype="float64")


def map_values(raw: pd.Series, table: Mapping[str, object] | Callable[[str], object]) -> pd.Series:
    """``raw.map(table)`` looking each distinct value up once (NA stays NA)."""
    codes, uniques = pd.factorize(raw)
    lookup = table.get if isinstance(table, Mapping) else table
    mapped = np.array([lookup(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=raw.index, dtype=object)


def money(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(canonical decimal text, float value, invalid mask) for money cells.

    Accepts ``1234.5``, ``¥1,234.50``, ``1.234,50 €``, ``$ 12``, ``-3.2``. The
    text keeps the exact decimal for PostgreSQL's numeric; the float is for checks.
    """
    fast = _fast_float(raw)
    value = fast if fast is not None else pd.to_numeric(raw, errors="coerce")
    text = raw.copy()
    messy = raw.notna() & value.isna()
    if messy.any():
        s = raw[messy].str.replace(r"[^\d,.\-]", "", regex=True)
        decimal_comma = s.str.contains(r",\d{1,2}$", regex=True)
        s = s.where(~decimal_comma, s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
        s = s.where(decimal_comma, s.str.replace(",", "", regex=False))
        fixed = pd.to_numeric(s, errors="coerce")
        value = value.astype("float64")
        value[messy] = fixed
        text[messy] = s
    invalid = raw.notna() & value.isna()
    return text.where(value.notna()), value, invalid


def money_values(raw: pd.Series) -> pd.Series:
    return money(raw)[1]


def integers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(Int64 values, invalid mask); ``6.0`` is 6, ``6.5`` is invalid."""
    fast = _fast_float(raw)
    value = fast if fast is not None else pd.to_numeric(raw, errors="coerce")
    if fast is None and value.isna().any() and raw.notna().any():
        value = pd.to_numeric(raw.str.replace(",", "", regex=False), errors="coerce")
    whole = value.notna() & (np.floor(value.fillna(0)) == value.fillna(0)) & (value.abs() < 2**31)
    invalid = raw.notna() & ~whole
    return value.where(whole).astype("Int64"), invalid


def identifiers(raw: pd.Series) -> pd.Series:
    """Ids as text; spreadsheet floats such as ``14620.0`` become ``14620``."""
    return raw.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def booleans(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    table = {
        "1": True, "true": True, "yes": True, "y": True, "是": True,
        "0": False, "false": False, "no": False, "n": False, "否": False,
    }
    value = map_values(raw.str.lower(), table)
    invalid = raw.notna() & value.isna()
    return value.astype("boolean"), invalid


def datetimes(
    raw: pd.Series, *, tz: str, fmt: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """(UTC timestamps, invalid mask). Times without an offset are the store's
    local time; in the autumn hour that happens twice we take the first."""
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    present = raw.notna()
    if not present.any():
        return out, present
    has_offset = raw.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
    aware = present & has_offset
    naive = present & ~has_offset
    if aware.any():
        out[aware] = _parse(raw[aware], fmt if fmt and "%z" in fmt else None, utc=True)
    if naive.any():
        local = _parse(raw[naive], fmt if fmt and "%z" not in fmt else None, utc=False)
        zone = zoneinfo.ZoneInfo(tz)
        localised = local.dt.tz_localize(
            zone, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
        )
        out[naive] = localised.dt.tz_convert("UTC")
    invalid = present & out.isna()
    # Nothing before the platforms existed; a 1900 date is an empty Excel cell.
    too_old = out.notna() & (out < pd.Timestamp("1995-01-01", tz="UTC"))
    out = out.mask(too_old)
    return out, invalid | too_old


def _parse(raw: pd.Series, fmt: str | None, *, utc: bool) -> pd.Series:
    text = raw.str.replace("/", "-", regex=False).str.replace("T", " ", regex=False)
    if not fmt and not utc:
        fast = _parse_fast(text)
        if fast is not None:
            return fast
    if fmt:
        parsed = pd.to_datetime(raw, format=fmt, errors="coerce", utc=utc)
        if parsed.notna().all():
            return parsed.dt.as_unit("us")
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=utc)
    left = parsed.isna()
    if left.any():
        parsed = parsed.astype(parsed.dtype)
        parsed[left] = pd.to_datetime(text[left], format="mixed", errors="coerce", utc=utc)
    return parsed.dt.as_unit("us")


def _parse_fast(text: pd.Series) -> pd.Series | None:
    """Naive times in the usual layouts, parsed by arrow; None when some cell
    needs pandas' ISO 8601 or mixed parsing."""
    values = _arrow(text)
    parsed = None
    for layout in _FAST_TIME_FORMATS:
        attempt = pc.strptime(values, format=layout, unit="us", error_is_null=True)
        parsed = attempt if parsed is None else pc.coalesce(parsed, attempt)
        if parsed.null_count == values.null_count:
            return pd.Series(
                parsed.to_numpy(zero_copy_only=False), index=text.index, dtype="datetime64[us]"
            )
    return None
