"""Vectorised parsers for what exports write: money, times, counts, ids.

Each returns the parsed values and a mask of the cells that were present but
could not be parsed, so validation can say which row and why.

The cells arrive as pandas' arrow-backed strings: the common cases are
handled in arrow and numpy on the whole column, and only the cells such a
fast path turns down go through pandas' slower, more forgiving parsers.
``text`` holds what the others share, ``money`` amounts and counts, ``times``
times.
"""

from __future__ import annotations

from stores.ingest.normalise.money import integers, money, money_values
from stores.ingest.normalise.text import (
    booleans,
    identifiers,
    longest,
    map_text,
    map_values,
    scientific_notation,
)
from stores.ingest.normalise.times import datetimes, day_month_year_as_iso, shared_zone

__all__ = [
    "booleans", "datetimes", "day_month_year_as_iso", "identifiers", "integers", "longest", "map_text",
    "map_values", "money", "money_values", "scientific_notation", "shared_zone",
]
