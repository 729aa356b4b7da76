"""Vectorised parsers for what exports write: money, times, counts, ids.

Each returns the parsed values and a mask of the cells that were present but
could not be parsed, so validation can say which row and why.
"""

from __future__ import annotations

import zoneinfo

import numpy as np
import pandas as pd

_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def money(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(canonical decimal text, float value, invalid mask) for money cells.

    Accepts ``1234.5``, ``¥1,234.50``, ``1.234,50 €``, ``$ 12``, ``-3.2``. The
    text keeps the exact decimal for PostgreSQL's numeric; the float is for checks.
    """
    value = pd.to_numeric(raw, errors="coerce")
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
    value = pd.to_numeric(raw, errors="coerce")
    if value.isna().any() and raw.notna().any():
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
    value = raw.str.lower().map(table)
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
