"""Day-by-day measures of a store, for charts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from django.db.models import Sum

from kpitree.engine import CHANNELS
from kpitree.periods import Period
from stores.models import CustomerDaily, SalesDaily, Store, TrafficDaily

SERIES_METRICS: tuple[str, ...] = (
    "sales", "orders", "buyers", "visitors", "conversion", "order_value",
    *(f"visitors_{c}" for c in CHANNELS),
)


def daily_series(*, store: Store, period: Period, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per local date of the period, one float column per metric.

    sales, orders (paid) and buyers (distinct paying buyers of the day) are
    0 on a day without orders; visitors are NaN on a day the traffic export
    does not cover (unknown, not zero), and so are conversion (buyers /
    visitors) and order value (sales / orders) where undefined.
    """
    unknown = sorted(set(metrics) - set(SERIES_METRICS))
    if unknown:
        raise ValueError(f"unknown series {unknown}; expected some of {SERIES_METRICS}")
    index = pd.Index(pd.date_range(period.start, period.end, freq="D").date, name="date")
    frame = pd.DataFrame(index=index)
    a, b = period.start, period.end
    sales_rows = (
        SalesDaily.objects.filter(store=store, date__gte=a, date__lte=b)
        .values("date").annotate(sales=Sum("sales"), orders=Sum("orders_paid")).order_by()
    )
    sales = {r["date"]: (float(r["sales"]), float(r["orders"])) for r in sales_rows}
    frame["sales"] = [sales.get(d, (0.0, 0.0))[0] for d in index]
    frame["orders"] = [sales.get(d, (0.0, 0.0))[1] for d in index]
    if {"buyers", "conversion"} & set(metrics):
        buyer_rows = (
            CustomerDaily.objects.filter(store=store, grain="day", date__gte=a, date__lte=b)
            .values("date").annotate(buyers=Sum("buyers")).order_by()
        )
        buyers = {r["date"]: float(r["buyers"]) for r in buyer_rows}
        frame["buyers"] = [buyers.get(d, 0.0) for d in index]
    if any(m.startswith("visitors") or m == "conversion" for m in metrics):
        traffic_rows = (
            TrafficDaily.objects.filter(store=store, date__gte=a, date__lte=b)
            .values("date", "channel").annotate(v=Sum("visitors")).order_by()
        )
        by_day: dict[object, dict[str, float]] = {}
        for r in traffic_rows:
            by_day.setdefault(r["date"], {})[r["channel"]] = float(r["v"])
        for c in CHANNELS:
            frame[f"visitors_{c}"] = [
                by_day[d].get(c, 0.0) if d in by_day else np.nan for d in index
            ]
        frame["visitors"] = [sum(by_day[d].values()) if d in by_day else np.nan for d in index]
        if "conversion" in metrics:
            frame["conversion"] = frame["buyers"] / frame["visitors"].replace(0, np.nan)
    if "order_value" in metrics:
        frame["order_value"] = frame["sales"] / frame["orders"].replace(0, np.nan)
    return frame[list(metrics)].astype(float)
