"""Times as exports write them, to UTC instants in the store's zone: the
common ``2025-10-07 09:50:26`` read in numpy from the bytes, offsets and zone
names (zones.py), day-first and month-first dates (conventions.py), and the
rest through pandas."""

from __future__ import annotations

import re
import zoneinfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from stores.ingest import zones
from stores.ingest.conventions import Convention
from stores.ingest.normalise.text import as_arrow, text_series

_NOT_BEFORE = pd.Timestamp("1995-01-01", tz="UTC")


def datetimes(
    raw: pd.Series, *, tz: str, fmt: str | None = None, convention: Convention | None = None
) -> tuple[pd.Series, pd.Series]:
    """(UTC timestamps, invalid mask). Times without an offset are the store's
    local time; in the autumn hour that happens twice we take the first."""
    values = as_arrow(raw)
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
        micros[left] = _datetimes_slow(raw[left], tz=tz, fmt=fmt, convention=convention).view(np.int64)
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


# A zone written after the time: "Z", "UTC", "GMT", "+08", "+0800", "+08:00",
# "GMT+8", "UTC+08:00", "GMT+0800 (China Standard Time)", or an abbreviation
# ("CET", "PDT": zones.py). dateutil would read "UTC+8" as eight hours west
# (POSIX), so these never reach pandas.
_ZONE_NAME = (
    r"(?:Z|UTC|GMT|(?:UTC|GMT)?\s*[+-]\d{1,2}(?::?\d{2})?|" + zones.PATTERN + r")"
    r"(?:\s*\([^()]*\))?"
)


_ZONED = r"(?i)\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AP]\.?M\.?)?\s*" + _ZONE_NAME + "$"

_ZONE_SUFFIX = r"(?i)\s*" + _ZONE_NAME + "$"


_ZONE_PARTS = re.compile(r"(?:Z|UTC|GMT)?\s*(?:(?P<sign>[+-])(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?)?", re.IGNORECASE)

# Day and month before a four- (or two-) digit year: "07.10.2025 14:30", "10/7/25".
_DAY_MONTH_YEAR = (
    r"^(?P<first>\d{1,2})(?P<sep>[./-])(?P<second>\d{1,2})(?P<sep2>[./-])"
    r"(?P<year>\d{4}|\d{2})(?P<rest>(?:[ T].*)?)$"
)


def _datetimes_slow(
    raw: pd.Series, *, tz: str, fmt: str | None, convention: Convention | None = None
) -> np.ndarray:
    """Any other way of writing a time, through pandas: UTC datetime64[us], NaT
    where unreadable.

    A zone the cell writes is taken off and applied by hand, so pandas only
    reads wall times; a cell in which pandas still finds a zone is an instant
    and is converted, never localised again.
    """
    values = pc.utf8_trim_whitespace(as_arrow(raw))
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    if fmt:
        zoned = "%z" in fmt or "%Z" in fmt
        try:
            wall, instant = _as_utc(
                pd.to_datetime(text_series(values, raw.index), format=fmt, errors="coerce", utc=zoned)
            )
        except (ValueError, TypeError, OverflowError):
            wall, instant = out.copy(), np.zeros(len(out), dtype=bool)
        out[instant] = wall[instant]
        local = ~instant & ~np.isnat(wall)
        if local.any():
            out[local] = _localise(wall[local], tz)
    left = np.isnat(out)
    if left.any():
        out[left] = _read_any(values.filter(pa.array(left)), tz=tz, convention=convention)
    return out


def _read_any(values: pa.Array, *, tz: str, convention: Convention | None = None) -> np.ndarray:
    """The cells neither the fast path nor the platform's format read."""
    zoned = np.asarray(pc.fill_null(pc.match_substring_regex(values, _ZONED), False))
    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    if zoned.any():
        # pandas reads ISO 8601 with its offset ("+08", "+0800", "Z") quickly.
        out[zoned] = _iso_instants(values.filter(pa.array(zoned)))
    left = np.isnat(out)
    if left.any():
        out[left] = _read_written(values.filter(pa.array(left)), zoned=zoned[left], tz=tz, convention=convention)
    return out


def _iso_instants(values: pa.Array) -> np.ndarray:
    """ISO 8601 times that write their offset, as UTC datetime64[us] (NaT where not)."""
    text = text_series(values, pd.RangeIndex(len(values)))
    try:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    except (ValueError, TypeError, OverflowError):
        return np.full(len(values), np.datetime64("NaT"), dtype="datetime64[us]")
    return parsed.dt.tz_localize(None).dt.as_unit("us").to_numpy()


def _read_written(
    values: pa.Array, *, zoned: np.ndarray, tz: str, convention: Convention | None = None
) -> np.ndarray:
    """Times in any other way of writing them: a zone the cell writes
    (``zoned``) is taken off and applied by hand, so pandas reads wall times."""
    offset = np.zeros(len(values), dtype="timedelta64[m]")
    impossible = np.zeros(len(values), dtype=bool)
    body = values
    if zoned.any():
        where = pa.array(zoned)
        cells = values.filter(where)
        named = pc.dictionary_encode(pc.extract_regex(cells, f"(?P<zone>{_ZONE_SUFFIX})").field("zone"))
        minutes = np.array([_zone_minutes(z, tz) for z in named.dictionary.to_pylist()], dtype="float64")
        found = minutes[np.asarray(named.indices)]
        impossible[zoned] = np.isnan(found)
        offset[zoned] = np.nan_to_num(found).astype(np.int64).astype("timedelta64[m]")
        body = pc.replace_with_mask(values, where, pc.replace_substring_regex(cells, _ZONE_SUFFIX, ""))
    body = day_month_first(body, convention)
    # Most cells are now plain ISO wall times ("+08:00" taken off).
    plain_wall, plain = _plain_local_times(body)
    wall = np.full(len(body), np.datetime64("NaT"), dtype="datetime64[us]")
    wall[plain] = plain_wall
    instant = np.zeros(len(body), dtype=bool)
    if not plain.all():
        rest = body.filter(pa.array(~plain))
        rest = pc.replace_substring_regex(rest, r"(\d)T(\d)", r"\1 \2")
        rest = pc.replace_substring_regex(rest, "[/年月]", "-")
        rest = pc.replace_substring(rest, "日", "")
        wall[~plain], instant[~plain] = _read_wall_times(rest)
    out = np.where(zoned, wall - offset, wall)
    local = ~zoned & ~instant & ~np.isnat(wall)
    if local.any():
        out[local] = _localise(wall[local], tz)
    # A cell naming two zones (pandas found another) is unreadable.
    out[impossible | (zoned & instant)] = np.datetime64("NaT")
    return out


_SHARED_ZONE = (r"(?i)\d\s*(?P<zone>" + "|".join(zones.AMBIGUOUS)
                + r")(?:\s*\((?P<spelled>[^()]*)\))?\s*$")


def shared_zone(raw: pd.Series, tz: str) -> np.ndarray:
    """Cells whose time ends with an abbreviation several zones share (CST,
    IST...) that the store's zone ``tz`` does not go by: unreadable, and why."""
    found = pc.extract_regex(as_arrow(raw), _SHARED_ZONE)
    named = pc.utf8_upper(found.field("zone"))
    foreign = [name for name in zones.AMBIGUOUS if np.isnan(zones.minutes(name, tz))]
    unknown = pc.fill_null(pc.is_in(named, value_set=pa.array(foreign, named.type)), False)
    # Spelled out after it ("CST (China Standard Time)"): readable after all.
    spelled = pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(found.field("spelled"))),
                       value_set=pa.array(list(zones.SPELLED), found.field("spelled").type))
    return np.asarray(unknown) & ~np.asarray(pc.fill_null(spelled, False))


def _zone_minutes(zone: str, tz: str) -> float:
    """Minutes east of UTC of a zone _ZONE_SUFFIX found (NaN if impossible,
    or an abbreviation several zones share that the store's ``tz`` does not use)."""
    name, _, spelled = zone.partition("(")
    name = name.strip()
    if name.upper() in zones.NAMES:
        return zones.minutes(name, tz, spelled.rstrip(")"))
    parts = _ZONE_PARTS.fullmatch(name)
    if parts is None:
        return np.nan
    hours, minutes = int(parts["hours"] or 0), int(parts["minutes"] or 0)
    if hours > 14 or minutes >= 60:  # offsets run from -12:00 to +14:00
        return np.nan
    return (-1 if parts["sign"] == "-" else 1) * (hours * 60 + minutes)


def _number(digits: pa.Array) -> np.ndarray:
    """A regex group's digits as int64 (0 where the group is empty)."""
    filled = pc.if_else(pc.equal(pc.fill_null(digits, ""), ""), "0", digits)
    return np.asarray(pc.cast(filled, pa.int64()))


def day_month_year_as_iso(raw: pd.Series, convention: Convention | None = None) -> pd.Series:
    """Cells written ``DD/MM/YYYY`` or ``MM/DD/YYYY`` as ``YYYY-MM-DD``, the
    order decided as for order times (``day_month_first``); others as they are."""
    if raw.isna().all():
        return raw
    iso = day_month_first(as_arrow(raw), convention)
    # By position: the cells keep raw's index, whatever it is.
    return pd.Series(iso.to_pandas().to_numpy(), index=raw.index).astype(raw.dtype)


def day_month_first(values: pa.Array, convention: Convention | None = None) -> pa.Array:
    """``DD/MM/YYYY`` and ``MM/DD/YYYY`` rewritten as ``YYYY-MM-DD``, the order
    decided for the whole column: a first number above 12 makes it day-first,
    a second one above 12 month-first. Without either, the convention's
    ``default`` (the store's order) decides, and without that dots are
    day-first (``07.10.2025``) and slashes and dashes month-first. A column
    showing both orders keeps the cells that say theirs and loses the
    ambiguous ones. ``convention`` carries the column's order from chunk to
    chunk of a file: once settled, cells that say the other order are lost.
    """
    shaped = np.asarray(pc.fill_null(pc.match_substring_regex(values, _DAY_MONTH_YEAR), False))
    if not shaped.any():
        return values
    parts = pc.extract_regex(values.filter(pa.array(shaped)), _DAY_MONTH_YEAR)
    same = np.asarray(pc.equal(parts.field("sep"), parts.field("sep2")))
    found = shaped.copy()
    found[shaped] = same
    if not found.any():
        return values
    parts = parts.filter(pa.array(same))
    first, second = _number(parts.field("first")), _number(parts.field("second"))
    says_day_first = (first > 12) & (first <= 31) & (second <= 12)
    says_month_first = (second > 12) & (second <= 31) & (first <= 12)
    lost = np.zeros(len(parts), dtype=bool)
    settled = convention.settled if convention is not None else None
    if settled is not None:
        day_first = np.full(len(parts), settled)
        lost = says_month_first if settled else says_day_first
    elif says_day_first.any() and says_month_first.any():
        day_first = says_day_first
        lost = (first <= 12) & (second <= 12) & (first != second)
    elif says_day_first.any() or says_month_first.any():
        if convention is not None:
            convention.settle(bool(says_day_first.any()))  # may ask to read the file again
        day_first = np.full(len(parts), says_day_first.any())
    else:
        if convention is not None and convention.default is not None:
            day_first = np.full(len(parts), convention.default)
        else:
            day_first = np.asarray(pc.equal(parts.field("sep"), "."))
        if convention is not None:
            for way in np.unique(day_first[first != second]).tolist():
                convention.assume(bool(way))
    year = _number(parts.field("year"))
    year = np.where(year >= 100, year, np.where(year < 70, 2000 + year, 1900 + year))
    fields = [
        pc.utf8_lpad(pc.cast(pa.array(number), pa.string()), width=width, padding="0")
        for number, width in (
            (year, 4),
            (np.where(day_first, second, first), 2),
            (np.where(day_first, first, second), 2),
        )
    ]
    iso = pc.binary_join_element_wise(pc.binary_join_element_wise(*fields, "-"), parts.field("rest").cast(pa.string()), "")
    iso = pc.if_else(pa.array(lost), pa.scalar(None, pa.string()), iso)
    return pc.replace_with_mask(values, pa.array(found), iso.cast(values.type))


def _read_wall_times(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(datetime64[us], which cells named a zone pandas knows: those are UTC
    instants already); NaT where unreadable. Each distinct text is read once."""
    encoded = pc.dictionary_encode(values)
    texts = text_series(encoded.dictionary, pd.RangeIndex(len(encoded.dictionary)))
    wall = np.full(len(texts) + 1, np.datetime64("NaT"), dtype="datetime64[us]")  # the last: NA
    instant = np.zeros(len(texts) + 1, dtype=bool)
    for how in ("ISO8601", "mixed"):
        left = np.flatnonzero(np.isnat(wall[:-1]))
        if not len(left):
            break
        wall[left], instant[left] = _read_split(texts.iloc[left], how)
    codes = np.asarray(pc.fill_null(encoded.indices, len(texts)))
    return wall[codes], instant[codes]


def _read_split(text: pd.Series, how: str) -> tuple[np.ndarray, np.ndarray]:
    """One pandas reading; where pandas refuses the lot (a zone in some cells
    and not in others), each half is read by itself."""
    try:
        return _as_utc(pd.to_datetime(text, format=how, errors="coerce"))
    except (ValueError, TypeError, OverflowError):
        if len(text) == 1:
            return np.array([np.datetime64("NaT")], dtype="datetime64[us]"), np.zeros(1, dtype=bool)
        half = len(text) // 2
        head, tail = _read_split(text.iloc[:half], how), _read_split(text.iloc[half:], how)
        return np.concatenate([head[0], tail[0]]), np.concatenate([head[1], tail[1]])


def _as_utc(parsed: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(datetime64[us], which are instants in UTC) from what pandas returned."""
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        instant = parsed.notna().to_numpy()
        return parsed.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("us").to_numpy(), instant
    if not pd.api.types.is_datetime64_dtype(parsed.dtype):
        raise TypeError(f"not times: {parsed.dtype}")
    return parsed.dt.as_unit("us").to_numpy(), np.zeros(len(parsed), dtype=bool)
