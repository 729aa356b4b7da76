"""Time zone abbreviations written after a time: ``2025-10-07 09:50:26 CET``.

Most abbreviations name one offset wherever they are written (CET is always
an hour east of UTC, PDT seven hours west). A few name several: CST is China
Standard Time (+8), US Central (-6) and Cuba (-5); IST is India, Israel or
Ireland. Such a one is read as the store's own zone when that zone goes by
the name (a Shanghai store's "CST" is +8, a Chicago store's -6), or as the zone the
cell spells out after it ("CST (China Standard Time)"), and is otherwise
unreadable: guessing would move the order by hours.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

# Minutes east of UTC.
FIXED: dict[str, int] = {
    "WET": 0, "WEST": 60, "CET": 60, "CEST": 120, "MET": 60, "MEST": 120,
    "EET": 120, "EEST": 180, "MSK": 180, "SAST": 120, "WAT": 60, "EAT": 180,
    "PKT": 300, "NPT": 345, "ICT": 420, "WIB": 420, "HKT": 480, "SGT": 480, "PHT": 480,
    "AWST": 480, "JST": 540, "KST": 540, "ACST": 570, "ACDT": 630, "AEST": 600,
    "AEDT": 660, "NZST": 720, "NZDT": 780,
    "EST": -300, "EDT": -240, "CDT": -300, "MST": -420, "MDT": -360, "PST": -480,
    "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600, "NST": -210, "NDT": -150, "ADT": -180,
    "BRT": -180, "ART": -180,
}
# Names several zones share: read only as the store's own.
AMBIGUOUS = ("CST", "IST", "BST", "AST")
# What a shared name stands for when the cell spells it out after it, as
# browsers and some exports write: "CST (China Standard Time)".
SPELLED: dict[str, int] = {
    "china standard time": 480, "central standard time": -360, "cuba standard time": -300,
    "india standard time": 330, "israel standard time": 120, "irish standard time": 60,
    "british summer time": 60, "bangladesh standard time": 360, "arabia standard time": 180,
    "arabian standard time": 180, "atlantic standard time": -240,
}

NAMES = tuple(sorted({*FIXED, *AMBIGUOUS}, key=lambda name: (-len(name), name)))
# For a regular expression: the longest first, so "CEST" is not read as "CES".
PATTERN = "|".join(NAMES)


@cache
def _store_names(tz: str) -> dict[str, int]:
    """The abbreviations the store's zone goes by (over a few years, winter
    and summer), with the offset each stands for."""
    zone = ZoneInfo(tz)
    names: dict[str, int] = {}
    for year in range(2015, 2031):
        for month in (1, 7):
            moment = datetime(year, month, 1, 12, tzinfo=zone)
            name, offset = moment.tzname(), moment.utcoffset()
            if name and offset is not None and name.isalpha():
                names.setdefault(name.upper(), int(offset.total_seconds() // 60))
    return names


def minutes(name: str, tz: str, spelled: str = "") -> float:
    """Minutes east of UTC that ``name`` stands for in a store of zone
    ``tz``; NaN when it names several zones, the store's not among them, and
    ``spelled`` (the text in brackets after it) does not say which."""
    name = name.upper()
    own = _store_names(tz).get(name)
    if own is not None and name in AMBIGUOUS:
        return float(own)
    if name in FIXED:
        return float(FIXED[name])
    if name in AMBIGUOUS and spelled.strip().lower() in SPELLED:
        return float(SPELLED[spelled.strip().lower()])
    return math.nan


__all__ = ["AMBIGUOUS", "FIXED", "PATTERN", "SPELLED", "minutes"]
