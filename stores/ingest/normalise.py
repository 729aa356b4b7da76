"""Vectorised parsers for what exports write: money, times, counts, ids.

Each returns the parsed values and a mask of the cells that were present but
could not be parsed, so validation can say which row and why.

The cells arrive as pandas' arrow-backed strings: the common cases are
handled in arrow and numpy on the whole column, and only the cells such a
fast path turns down go through pandas' slower, more forgiving parsers.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"
_TEXT = pa.large_string()
_NOT_BEFORE = pd.Timestamp("1995-01-01", tz="UTC")


def _arrow(raw: pd.Series) -> pa.Array:
    """The cells as one arrow string array (no copy for pandas' str dtype)."""
    values = pa.array(raw, from_pandas=True)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not (pa.types.is_large_string(values.type) or pa.types.is_string(values.type)):
        values = values.cast(_TEXT)
    return values


def _text_series(values: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(values.to_pandas().array, index=index, copy=False)


def longest(raw: pd.Series) -> int:
    """An upper bound of the longest cell's length in characters (its bytes)."""
    lengths = pc.binary_length(_arrow(raw))
    return int(pc.max(lengths).as_py() or 0)


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


def map_text(raw: pd.Series, lookup: Callable[[str], str | None]) -> pd.Series:
    """``raw.map(lookup)`` as text, looking each distinct value up once in
    arrow (NA stays NA; a lookup's None is NA)."""
    values = _arrow(raw)
    if values.null_count == len(values):
        return pd.Series(pd.NA, index=raw.index, dtype="str")
    encoded = pc.dictionary_encode(values)
    mapped = pa.array([lookup(u) for u in encoded.dictionary.to_pylist()], type=_TEXT)
    return _text_series(mapped.take(encoded.indices), raw.index)


def money(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(canonical decimal text, float value, invalid mask) for money cells.

    Accepts ``1234.5``, ``¥1,234.50``, ``1.234,50 €``, ``$ 12``, ``-3.2``. The
    text keeps the exact decimal for PostgreSQL's numeric; the float is for checks.
    """
    values = _arrow(raw)
    if values.null_count == len(values):
        return raw, pd.Series(np.nan, index=raw.index), pd.Series(False, index=raw.index)
    fast = _fast_float(raw)
    if fast is not None and fast.isna().sum() == values.null_count:
        # Every present cell is a plain number: its text is already canonical.
        return raw, fast, pd.Series(False, index=raw.index)
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
    floats = value.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        whole = (np.floor(floats) == floats) & (np.abs(floats) < 2**31)
    invalid = raw.notna().to_numpy() & ~whole
    counts = pd.arrays.IntegerArray(np.where(whole, floats, 0).astype(np.int64), ~whole)
    return pd.Series(counts, index=raw.index), pd.Series(invalid, index=raw.index)


def identifiers(raw: pd.Series) -> pd.Series:
    """Ids as text; spreadsheet floats such as ``14620.0`` become ``14620``."""
    if not pc.any(pc.match_substring(_arrow(raw), ".0")).as_py():
        return raw
    return raw.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


_TRUE = ("1", "true", "yes", "y", "是")
_FALSE = ("0", "false", "no", "n", "否")


def booleans(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    values = _arrow(raw)
    present = np.asarray(values.is_valid())
    lowered = pc.utf8_lower(values)
    yes = np.asarray(pc.is_in(lowered, value_set=pa.array(_TRUE, type=values.type)))
    no = np.asarray(pc.is_in(lowered, value_set=pa.array(_FALSE, type=values.type)))
    known = yes | no
    value = pd.arrays.BooleanArray(yes, ~known)
    return pd.Series(value, index=raw.index), pd.Series(present & ~known, index=raw.index)


def datetimes(
    raw: pd.Series, *, tz: str, fmt: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """(UTC timestamps, invalid mask). Times without an offset are the store's
    local time; in the autumn hour that happens twice we take the first."""
    values = _arrow(raw)
    present = np.asarray(values.is_valid())
    micros = np.full(len(raw), np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    if not present.any():
        return _utc_series(micros, raw.index), pd.Series(present, index=raw.index)
    if fmt is None or "%z" in fmt:
        # Cells without an offset are read without the format anyway.
        local, plain = _plain_local_times(values)
    else:
        local, plain = np.empty(0, dtype="datetime64[us]"), np.zeros(len(raw), dtype=bool)
    if plain.any():
        micros[plain] = _localise(local, tz).view(np.int64)
    left = present & ~plain
    if left.any():
        micros[left] = _datetimes_slow(raw[left], tz=tz, fmt=fmt).view(np.int64)
    parsed = micros != np.iinfo(np.int64).min
    too_old = parsed & (micros < _NOT_BEFORE.value // 1000)
    # Nothing before the platforms existed; a 1900 date is an empty Excel cell.
    micros[too_old] = np.iinfo(np.int64).min
    invalid = (present & ~parsed) | too_old
    return _utc_series(micros, raw.index), pd.Series(invalid, index=raw.index)


def _utc_series(micros: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(micros.view("datetime64[us]"), index=index, copy=False).dt.tz_localize("UTC")


def _localise(local: np.ndarray, tz: str) -> np.ndarray:
    """Local wall times in ``tz`` as UTC datetime64[us]."""
    zone = zoneinfo.ZoneInfo(tz)
    stamps = pd.DatetimeIndex(local).tz_localize(
        zone, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
    )
    return stamps.tz_convert("UTC").tz_localize(None).as_unit("us").to_numpy()


_U = np.uint64
_ZEROS = _U(0x3030303030303030)  # '0' in every byte: xor turns digits into 0-9
_HIGH = _U(0x8080808080808080)
_SEVEN = _U(0x7676767676767676)  # a byte above 9 plus this sets its high bit
_YEAR_MONTH = _U(0x00FFFF00FFFFFFFF)  # digit bytes of "YYYY-MM-"
_DAY_TIME = _U(0xFFFF00FFFF00FFFF)  # digit bytes of "DD HH:MM"
_DAY = _U(0x000000000000FFFF)
_SECONDS = _U(0xFFFF000000000000)  # digit bytes of "HH:MM:SS" seen from byte 11
_BYTE = _U(0xFF)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _digits_ok(x: np.ndarray, mask: np.ndarray | np.uint64) -> np.ndarray:
    """Whether every byte of ``x`` under ``mask`` is 0-9 (x: text xor '0's)."""
    y = x & mask
    return (((y + (_SEVEN & mask)) | y) & (_HIGH & mask)) == 0


def _byte(x: np.ndarray, k: int) -> np.ndarray:
    return (x >> _U(8 * k)) & _BYTE


def _pairs(x: np.ndarray, mask: np.ndarray | np.uint64) -> np.ndarray:
    """Byte k of the result is 10 * digit k + digit k+1, for digit pairs."""
    y = x & mask
    return y * _U(10) + (y >> _U(8))


def _plain_local_times(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The cells written exactly ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM`` or
    ``YYYY-MM-DD HH:MM:SS`` (``/`` for ``-``, ``T`` for the space) that are
    real times: (their datetime64[us] values, which cells they are).

    The other cells, including impossible dates such as 2025-02-30, are left
    to pandas: this only takes what pandas would read the same way. The
    fields are read eight bytes at a time from arrow's buffer.
    """
    n = len(values)
    buffers = values.buffers()
    offset_type = np.int64 if pa.types.is_large_string(values.type) else np.int32
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[values.offset : values.offset + n + 1].astype(np.int64)
    lengths = offsets[1:] - offsets[:-1]
    candidate = (lengths == 19) | (lengths == 16) | (lengths == 10)
    if values.null_count:
        candidate &= np.asarray(values.is_valid())
    at = np.flatnonzero(candidate)
    plain = np.zeros(n, dtype=bool)
    if not len(at):
        return np.empty(0, dtype="datetime64[us]"), plain
    data = np.frombuffer(buffers[2], dtype=np.uint8)
    first, last = int(offsets[0]), int(offsets[-1])
    padded = np.zeros(last - first + 16, dtype=np.uint8)
    padded[: last - first] = data[first:last]
    # words[i]: the 8 bytes from byte i on (an unaligned view, no copy).
    words = np.ndarray(shape=(last - first + 8,), dtype="<u8", buffer=padded.data, strides=(1,))
    start = offsets[at] - first
    size = lengths[at]
    has_time = size >= 16
    has_seconds = size == 19
    x0 = words[start] ^ _ZEROS  # YYYY-MM-
    x1 = words[start + 8] ^ _ZEROS  # DD HH:MM
    sep = _byte(x0, 4)
    ok = _digits_ok(x0, _YEAR_MONTH) & (sep == _byte(x0, 7)) & ((sep == _U(0x1D)) | (sep == _U(0x1F)))  # - or /
    ok &= _digits_ok(x1, np.where(has_time, _DAY_TIME, _DAY))
    space = _byte(x1, 2)
    ok &= ~has_time | (((space == _U(0x10)) | (space == _U(0x64))) & (_byte(x1, 5) == _U(0x0A)))  # ' ' or T; ':'
    if has_seconds.any():
        x2 = words[start + 11] ^ _ZEROS  # HH:MM:SS
        ok &= ~has_seconds | (_digits_ok(x2, _SECONDS) & (_byte(x2, 5) == _U(0x0A)))
        second = np.where(has_seconds, _byte(_pairs(x2, _SECONDS), 6), _U(0)).astype(np.int64)
    else:
        second = np.zeros(len(at), dtype=np.int64)
    ym = _pairs(x0, _YEAR_MONTH)
    year = (_byte(ym, 0) * _U(100) + _byte(ym, 2)).astype(np.int64)
    month = _byte(ym, 5).astype(np.int64)
    dt = _pairs(x1, _DAY_TIME)
    day = _byte(dt, 0).astype(np.int64)
    hour = np.where(has_time, _byte(dt, 3), _U(0)).astype(np.int64)
    minute = np.where(has_time, _byte(dt, 6), _U(0)).astype(np.int64)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    last_day = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + ((month == 2) & leap)
    ok &= (year >= 1) & month_ok & (day >= 1) & (day <= last_day) & (hour < 24) & (minute < 60) & (second < 60)
    # Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    micros = (((days * 24 + hour) * 60 + minute) * 60 + second) * 1_000_000
    plain[at[ok]] = True
    return micros[ok].view("datetime64[us]"), plain


def _datetimes_slow(raw: pd.Series, *, tz: str, fmt: str | None) -> np.ndarray:
    """Any other way of writing a time, through pandas: UTC datetime64[us], NaT
    where unreadable."""
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    has_offset = raw.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
    aware = has_offset
    naive = ~has_offset
    if aware.any():
        out[aware] = _parse(raw[aware], fmt if fmt and "%z" in fmt else None, utc=True)
    if naive.any():
        local = _parse(raw[naive], fmt if fmt and "%z" not in fmt else None, utc=False)
        zone = zoneinfo.ZoneInfo(tz)
        localised = local.dt.tz_localize(
            zone, ambiguous=np.ones(len(local), dtype=bool), nonexistent="shift_forward"
        )
        out[naive] = localised.dt.tz_convert("UTC")
    return out.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")


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
