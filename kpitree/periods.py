"""Reporting periods in a store's local calendar, and the periods they are compared with.

A period is a closed range of local dates. Whether it is *anchored* (starts
on a calendar period start and stays inside that period) decides two things:
which rollup grain counts distinct customers exactly for it, and what "the
previous period" means (Nov 1-23 is compared with Oct 1-23, not Oct 9-31).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from stores.models import Store

PRESETS: tuple[str, ...] = (
    "this_week", "last_week", "this_month", "last_month", "this_quarter", "last_quarter",
    "this_year", "last_year", "custom",
)
# Largest first: the grain a range is anchored on is the largest one that fits.
_GRAINS: tuple[str, ...] = ("year", "quarter", "month", "week", "day")


class PeriodError(ValueError):
    """A period that cannot be resolved (bad preset, end before start...)."""


@dataclass(frozen=True)
class Period:
    """Local dates ``start`` to ``end``, both inclusive."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise PeriodError(f"the period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def grain(self) -> str | None:
        return period_grain(self)

    @property
    def kind(self) -> str | None:
        """The smallest calendar period (week, month, quarter, year) this one
        starts and stays inside: what "the previous period" shifts by. None
        for a custom range or a single day."""
        for grain in reversed(_GRAINS[:-1]):
            if grain_start(self.start, grain) == self.start and self.end <= grain_end(
                self.start, grain
            ):
                return grain
        return None

    @property
    def is_full(self) -> bool:
        """The whole calendar period of its kind (a full month, not Nov 1-23)."""
        kind = self.kind
        return kind is not None and self.end == grain_end(self.start, kind)

    @property
    def label(self) -> str:
        grain, s = self.kind, self.start
        if self.is_full:
            if grain == "year":
                return f"{s.year}"
            if grain == "quarter":
                return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
            if grain == "month":
                return f"{s:%Y-%m}"
            if grain == "week":
                iso = s.isocalendar()
                return f"{iso.year}-W{iso.week:02d}"
        if self.days == 1:
            return s.isoformat()
        return f"{s.isoformat()} – {self.end.isoformat()}"


def grain_start(day: date, grain: str) -> date:
    """First day of the calendar period of ``grain`` holding ``day`` (weeks start Monday)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    if grain == "year":
        return date(day.year, 1, 1)
    raise PeriodError(f"unknown grain {grain!r}")


def grain_end(day: date, grain: str) -> date:
    """Last day of the calendar period of ``grain`` holding ``day``."""
    start = grain_start(day, grain)
    if grain == "day":
        return start
    if grain == "week":
        return start + timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    return _add_months(start, months) - timedelta(days=1)


def period_grain(period: Period) -> str | None:
    """The rollup grain whose sums are exact for the period: the largest grain
    whose period starting at ``period.start`` contains ``period.end`` (April
    1-30 reads the quarter rows, which are exact for it); None for a custom
    range, where only the orders are exact."""
    for grain in _GRAINS:
        if grain_start(period.start, grain) == period.start and period.end <= grain_end(
            period.start, grain
        ):
            return grain
    return None


def _add_months(day: date, months: int) -> date:
    """Same day of the month ``months`` later, clamped to the month's end."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def store_today(store: Store) -> date:
    """Today in the store's own time zone."""
    return timezone.localdate(timezone=store.tzinfo)


def period_resolve(
    *, preset: str, start: date | None = None, end: date | None = None, today: date
) -> Period:
    """The period a preset names, seen from the store-local date ``today``.

    ``this_*`` run from the period's start through ``today`` inclusive, so
    today's partial data shows (the rollups are refreshed after every load);
    ``last_*`` are the whole previous calendar period; ``custom`` needs
    ``start`` and ``end``.
    """
    if preset == "custom":
        if start is None or end is None:
            raise PeriodError("a custom period needs both start and end")
        return Period(start, end)
    kind, _, grain = preset.partition("_")
    if kind not in ("this", "last") or grain not in ("week", "month", "quarter", "year"):
        raise PeriodError(f"unknown period preset {preset!r}; expected one of {PRESETS}")
    if kind == "this":
        return Period(grain_start(today, grain), today)
    previous_day = grain_start(today, grain) - timedelta(days=1)
    return Period(grain_start(previous_day, grain), grain_end(previous_day, grain))


def period_previous(period: Period) -> Period:
    """The period this one is compared with by default.

    Anchored on a week, month, quarter or year: the same days of the previous
    calendar period (Nov 1-23 -> Oct 1-23; a full month -> the whole previous
    month, however long). Otherwise the same number of days just before.
    """
    grain = period.kind
    if grain in ("month", "quarter", "year"):
        months = {"month": 1, "quarter": 3, "year": 12}[grain]
        start = _add_months(period.start, -months)
        end = grain_end(start, grain) if period.is_full else _add_months(period.end, -months)
        return Period(start, min(end, grain_end(start, grain)))
    if grain == "week":
        return Period(period.start - timedelta(days=7), period.end - timedelta(days=7))
    return Period(period.start - timedelta(days=period.days), period.start - timedelta(days=1))


def period_last_year(period: Period) -> Period:
    """The same period a year earlier.

    Weeks go back 52 weeks so they still start on a Monday and compare the
    same weekdays; everything else goes back 12 months on the calendar (Feb
    29 becomes Feb 28), and a full month or quarter stays full.
    """
    if period.kind == "week":
        shift = timedelta(weeks=52)
        return Period(period.start - shift, period.end - shift)
    start = _add_months(period.start, -12)
    end = _add_months(period.end, -12)
    if period.is_full and period.kind is not None:
        end = grain_end(start, period.kind)
    return Period(start, end)
