"""The raw measures of a store and period, read from the rollups (DOMAIN.md section 3).

Everything additive comes from SalesDaily and TrafficDaily; distinct
customers and the lifecycle split come from CustomerDaily at the grain the
period is anchored on, which is exact (stores.models.CustomerDaily). A
custom range is not anchored, so its distinct counts are computed from the
orders instead (kpitree.exact), and ``exact_from`` says so.

``period_data_many`` reads several stores in the same few grouped queries,
so peer medians cost no more than one store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Q, Sum

from kpitree.engine import CustomerMeasures, FunnelMeasures, SegmentMeasures, ratio
from kpitree.exact import range_customers
from kpitree.periods import Period
from stores.models import (
    CustomerBaseDaily,
    CustomerDaily,
    Order,
    SalesDaily,
    Store,
    TrafficDaily,
)
from stores.rollups import compute
from stores.rollups.reads import load_history, load_orders, to_day

ExactFrom = Literal["rollups", "orders"]
SEGMENTS = compute.SEGMENTS
ZERO = Decimal(0)


@dataclass(frozen=True)
class SegmentData:
    buyers: int = 0
    orders: int = 0
    sales: Decimal = ZERO
    units: int = 0


@dataclass(frozen=True)
class PeriodData:
    """Every measure of one store and period the trees and the scorecard need.

    None means the data cannot say (no traffic export), never zero.
    """

    store_id: int
    period: Period
    exact_from: ExactFrom
    visitors_by_channel: dict[str, int] | None
    inquirers: int | None
    inquiry_placers: int | None
    inquiry_source: Literal["orders", "traffic"] | None
    placers: int
    buyers: int
    orders_placed: int
    orders: int
    sales: Decimal
    units: int
    orders_unpaid: int
    unpaid_amount: Decimal
    segments: dict[str, SegmentData]
    # Bases at the start of the period: nurtured, active, won_back (= lapsed).
    bases: dict[str, int]
    churned: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def visitors(self) -> int | None:
        if self.visitors_by_channel is None:
            return None
        return sum(self.visitors_by_channel.values())

    @property
    def churn_rate(self) -> float | None:
        """Share of the active base at the start who lapsed during the period."""
        return ratio(self.churned, self.bases["active"])

    @property
    def win_back_rate(self) -> float | None:
        return ratio(self.segments["won_back"].buyers, self.bases["won_back"])

    @property
    def inquiry_rate(self) -> float | None:
        return ratio(self.inquirers, self.visitors)


def local_midnight(store: Store, day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=store.tzinfo)


def funnel_measures(*, store: Store, period: Period) -> FunnelMeasures:
    return funnel_from(period_data(store=store, period=period))


def customer_measures(*, store: Store, period: Period) -> CustomerMeasures:
    return customer_from(period_data(store=store, period=period))


def funnel_from(data: PeriodData) -> FunnelMeasures:
    inquirers, inquiry_placers = data.inquirers, data.inquiry_placers
    visitors = data.visitors
    # Exports disagree now and then (inquiry placers from the orders above the
    # traffic export's inquirers); the inquiry branch then folds rather than lies.
    consistent = inquirers is None or (
        (inquiry_placers or 0) <= inquirers and (visitors is None or inquirers <= visitors)
    )
    if not consistent:
        inquirers = None
    return FunnelMeasures(
        visitors_by_channel=data.visitors_by_channel,
        inquirers=inquirers,
        placers=data.placers,
        inquiry_placers=min(inquiry_placers, data.placers) if inquiry_placers is not None else None,
        buyers=data.buyers,
        orders=data.orders,
        sales=float(data.sales),
        units=data.units,
    )


def customer_from(data: PeriodData) -> CustomerMeasures:
    segments = {
        g: SegmentMeasures(
            buyers=s.buyers, orders=s.orders, sales=float(s.sales),
            base=None if g == "new" else data.bases[g],
        )
        for g, s in data.segments.items()
    }
    return CustomerMeasures(visitors=data.visitors, segments=segments)


def period_data(
    *, store: Store, period: Period, churn: bool = True, from_orders: bool = False
) -> PeriodData:
    """``from_orders`` takes the slow exact path even for an anchored period
    (to check the rollups against it)."""
    data = period_data_many(stores=[store], period=period, from_orders=from_orders)[store.pk]
    if not churn:
        return data
    churned = _churned(store=store, period=period)
    return PeriodData(**{**data.__dict__, "churned": churned})


def period_data_many(
    *, stores: Sequence[Store], period: Period, from_orders: bool = False
) -> dict[int, PeriodData]:
    """PeriodData (without churn) for several stores over the same local dates."""
    ids = [s.pk for s in stores]
    a, b = period.start, period.end
    traffic = _traffic(ids, a, b)
    sales = _sales(ids, a, b)
    bases = _bases(ids, a)
    grain = None if from_orders else period.grain
    rollup_customers = _customers(ids, grain, a, b) if grain is not None else {}
    out: dict[int, PeriodData] = {}
    for store in stores:
        by_channel, inquirers, traffic_inq_placers = traffic.get(store.pk, (None, None, None))
        s = sales.get(store.pk, {})
        notes: list[str] = []
        if grain is not None:
            exact_from: ExactFrom = "rollups"
            placers, order_inq_placers, buyers, segments = rollup_customers.get(
                store.pk, (0, 0, 0, {g: SegmentData() for g in SEGMENTS})
            )
        else:
            exact_from = "orders"
            placers, order_inq_placers, buyers, segments = _customers_from_orders(store, period)
        if order_inq_placers > 0 or _orders_carry_inquiry(store, period):
            inquiry_placers: int | None = order_inq_placers
            source: Literal["orders", "traffic"] | None = "orders"
        elif traffic_inq_placers is not None:
            inquiry_placers, source = traffic_inq_placers, "traffic"
        else:
            inquiry_placers, source = None, None
        if by_channel is None:
            notes.append("no traffic export for this period: visitors and conversion are missing")
        out[store.pk] = PeriodData(
            store_id=store.pk, period=period, exact_from=exact_from,
            visitors_by_channel=by_channel, inquirers=inquirers,
            inquiry_placers=inquiry_placers, inquiry_source=source,
            placers=placers, buyers=buyers,
            orders_placed=s.get("orders_placed", 0), orders=s.get("orders_paid", 0),
            sales=s.get("sales", ZERO), units=s.get("units", 0),
            orders_unpaid=s.get("orders_unpaid", 0), unpaid_amount=s.get("unpaid_amount", ZERO),
            segments=segments, bases=bases.get(store.pk, dict.fromkeys(SEGMENTS[1:], 0)),
            notes=tuple(notes),
        )
    return out


def _traffic(ids: list[int], a: date, b: date
             ) -> dict[int, tuple[dict[str, int], int | None, int | None]]:
    rows = (
        TrafficDaily.objects.filter(store_id__in=ids, date__gte=a, date__lte=b)
        .values("store_id", "channel")
        .annotate(v=Sum("visitors"), i=Sum("inquirers"), ip=Sum("inquiry_placers"))
        .order_by()
    )
    out: dict[int, tuple[dict[str, int], int | None, int | None]] = {}
    for r in rows:
        channels, inq, inq_placers = out.get(r["store_id"], ({}, None, None))
        channels[r["channel"]] = int(r["v"] or 0)
        # Sum() of all-NULL is NULL: the export did not say, which is not zero.
        if r["i"] is not None:
            inq = (inq or 0) + int(r["i"])
        if r["ip"] is not None:
            inq_placers = (inq_placers or 0) + int(r["ip"])
        out[r["store_id"]] = (channels, inq, inq_placers)
    return out


def _sales(ids: list[int], a: date, b: date) -> dict[int, dict[str, Any]]:
    fields = ("orders_placed", "orders_paid", "sales", "units", "orders_unpaid", "unpaid_amount")
    rows = (
        SalesDaily.objects.filter(store_id__in=ids, date__gte=a, date__lte=b)
        .values("store_id")
        .annotate(**{f: Sum(f) for f in fields})
        .order_by()
    )
    return {r["store_id"]: {f: r[f] for f in fields} for r in rows}


def _bases(ids: list[int], a: date) -> dict[int, dict[str, int]]:
    rows = CustomerBaseDaily.objects.filter(store_id__in=ids, date=a).values(
        "store_id", "nurtured", "active", "lapsed"
    )
    return {
        r["store_id"]: {"nurtured": r["nurtured"], "active": r["active"], "won_back": r["lapsed"]}
        for r in rows
    }


CustomerCounts = tuple[int, int, int, dict[str, SegmentData]]


def _customers(ids: list[int], grain: str, a: date, b: date) -> dict[int, CustomerCounts]:
    rows = (
        CustomerDaily.objects.filter(store_id__in=ids, grain=grain, date__gte=a, date__lte=b)
        .values("store_id", "segment")
        .annotate(
            placers=Sum("placers"), inquiry_placers=Sum("inquiry_placers"), buyers=Sum("buyers"),
            orders_paid=Sum("orders_paid"), sales=Sum("sales"), units=Sum("units"),
        )
        .order_by()
    )
    out: dict[int, CustomerCounts] = {}
    for r in rows:
        placers, inq, buyers, segments = out.get(
            r["store_id"], (0, 0, 0, {g: SegmentData() for g in SEGMENTS})
        )
        segments[r["segment"]] = SegmentData(
            buyers=r["buyers"], orders=r["orders_paid"], sales=r["sales"], units=r["units"]
        )
        out[r["store_id"]] = (
            placers + r["placers"], inq + r["inquiry_placers"], buyers + r["buyers"], segments
        )
    return out


def _customers_from_orders(store: Store, period: Period) -> CustomerCounts:
    """The exact path for custom ranges: scans the store's orders from the start."""
    since = int(local_midnight(store, period.start).timestamp())
    orders = load_orders(store, since)
    history = load_history(store, since)
    windows = compute.Windows(store.nurture_window_days, store.churn_window_days)
    result = range_customers(orders, history, windows, to_day(period.start), to_day(period.end))
    segments = {
        g: SegmentData(buyers=n, orders=o, sales=Decimal(cents) / 100, units=u)
        for g, (n, o, cents, u) in result.segments.items()
    }
    return result.placers, result.inquiry_placers, result.buyers, segments


def _orders_carry_inquiry(store: Store, period: Period) -> bool:
    """Whether any order of the period says whether its buyer inquired."""
    return Order.objects.filter(
        store=store,
        placed_at__gte=local_midnight(store, period.start),
        placed_at__lt=local_midnight(store, period.end + timedelta(days=1)),
        inquired__isnull=False,
    ).exists()


def _churned(*, store: Store, period: Period) -> int:
    """Customers of the active base at the start who lapsed during the period.

    A customer whose last paid day l before the start is within the churn
    window C lapses during [a, b] when they do not buy again by l + C, i.e.
    l + C + 1 <= b. The lapses of l in [a - C, min(a - 1, b - C - 1)] count
    them, less those who were still nurtured at a (a single order within the
    nurture window N: lapses_first with l >= a - N). The upper bound stops at
    a - 1 because customers first seen inside a long period (a year, with a
    shorter churn window) were never in the base the rate divides by.
    """
    a, b = period.start, period.end
    churn, nurture = store.churn_window_days, store.nurture_window_days
    hi = min(a - timedelta(days=1), b - timedelta(days=churn + 1))
    lo = a - timedelta(days=churn)
    lo_first = max(a - timedelta(days=nurture), lo)
    if hi < lo:
        return 0
    totals = CustomerBaseDaily.objects.filter(store=store, date__gte=lo, date__lte=hi).aggregate(
        lapses=Sum("lapses"),
        first=Sum("lapses_first", filter=Q(date__gte=lo_first)),
    )
    return int(totals["lapses"] or 0) - int(totals["first"] or 0)
