"""What the store pages show, built and cached per store data version.

The views parse requests and check permissions; this module builds the page
data (diagnosis, figures, customers) so that the same cached values can be
warmed after a load, outside any request (``pages_warm``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from kpitree import charts, customers, pagecache, selectors
from kpitree import formatting as fmt
from kpitree.engine import CHANNELS
from kpitree.periods import Period, period_resolve, store_today
from stores.models import Store

DEFAULT_PRESET = "this_month"
DEFAULT_BASE = "previous"


def base_labels() -> dict[str, str]:
    return {
        "previous": _("Previous period"),
        "last_year": _("Same period last year"),
        "target": _("Target"),
        "peers": _("Peer median"),
    }


@dataclass(frozen=True)
class PeriodChoice:
    """What the period and base pickers asked for, resolved for one store."""

    preset: str
    base: str
    period: Period
    start: date | None
    end: date | None
    error: str = ""

    @property
    def query(self) -> str:
        query = f"period={self.preset}&base={self.base}"
        if self.preset == "custom":
            query += f"&start={self.period.start.isoformat()}&end={self.period.end.isoformat()}"
        return query


def store_overview_cached(
    store: Store, choice: PeriodChoice, version: str
) -> tuple[selectors.StoreOverview, str]:
    def build() -> tuple[selectors.StoreOverview, str]:
        item = selectors.store_overview(store=store, period=choice.period, base=choice.base)
        spark = charts.sparkline_figure(series=item.daily_sales, currency=store.currency)
        return item, charts.figure_json(spark, static=True) if spark else ""

    return pagecache.cached(
        store=store, version=version, parts=("overview", choice.period, choice.base), build=build
    )


def diagnosis_cached(store: Store, choice: PeriodChoice, version: str) -> selectors.Diagnosis:
    return pagecache.cached(
        store=store, version=version, parts=("diagnosis", choice.period, choice.base),
        build=lambda: selectors.diagnosis_get(store=store, period=choice.period, base=choice.base),
    )


def diagnosis_figures(
    *, store: Store, choice: PeriodChoice, result: selectors.Diagnosis
) -> dict[str, object]:
    """Every figure of the diagnosis page, as JSON for the template."""
    base_label = base_labels()[choice.base]
    figures: dict[str, str] = {}
    tree_items = [
        {"tree": tree, "json": charts.figure_json(
            charts.tree_figure(tree, currency=store.currency, base_label=base_label))}
        for tree in result.trees.values()
    ]
    funnel = result.trees.get("funnel")
    if funnel is not None:
        figures["waterfall"] = charts.figure_json(
            charts.waterfall_figure(
                tree=funnel, currency=store.currency, sales=result.sales,
                base_sales=result.base_sales, base_label=base_label,
            )
        )
    trend_metrics = [
        ("sales", "money", _("Sales")),
        ("visitors", "count", _("Visitors")),
        ("conversion", "rate", _("Conversion rate")),
        ("order_value", "money", _("Average order value")),
    ]
    daily = selectors.daily_series(
        store=store, period=choice.period,
        metrics=[m for m, _u, _t in trend_metrics] + [f"visitors_{c}" for c in CHANNELS],
    )
    base_daily = (
        selectors.daily_series(store=store, period=result.base_period,
                               metrics=[m for m, _u, _t in trend_metrics])
        if result.base_period is not None
        else None
    )
    trends = []
    for column, unit, title in trend_metrics:
        fig = charts.trend_figure(
            current=daily, base=base_daily, column=column, unit=unit, title=title,
            currency=store.currency, base_label=base_label,
        )
        trends.append({"id": f"trend-{column}", "title": title,
                       "json": charts.figure_json(fig) if fig else ""})
    mix = charts.channel_mix_figure(daily=daily, channel_names=channel_names())
    return {
        "figures": figures,
        "tree_items": tree_items,
        "trends": trends,
        "mix_json": charts.figure_json(mix) if mix else "",
    }


def lifecycle_labels() -> dict[str, str]:
    return {
        "prospect": _("Not yet a customer"),
        "new": _("New"),
        "active": _("Active"),
        "at_risk": _("At risk"),
        "churned": _("Churned"),
    }


def rfm_segment_labels() -> dict[str, str]:
    return {
        "champions": _("Champions"),
        "loyal": _("Loyal"),
        "new": _("New customers"),
        "potential_loyalists": _("Potential loyalists"),
        "at_risk": _("At risk"),
        "needs_attention": _("Needs attention"),
        "hibernating": _("Hibernating"),
        "lost": _("Lost"),
    }


FLOW_DAYS = 30
COHORT_MONTHS = 12


@dataclass(frozen=True)
class CustomerNumbers:
    """What the customers page shows, before any label: the same in every
    language, so ``pages_warm`` counts it once for all of them."""

    by_state: dict[str, tuple[int, float]]
    by_segment: dict[str, tuple[int, float]]
    flows: list[tuple[str, str, int]]
    cells: pd.DataFrame
    cohorts: pd.DataFrame
    customers_total: int


def customer_numbers(*, store: Store, as_of: date) -> CustomerNumbers:
    """Counts, flows, RFM cells and cohorts of the store's customers.

    The RFM tables are the expensive reads (one pass over the store's orders
    each) and, with a million customers, the memory: summaries are taken from
    the table now before the one of FLOW_DAYS ago is read, and only its
    customer ids and states are kept for the flows.
    """
    table = customers.rfm_summary_table(store=store, as_of=as_of)
    by_state = charts.segment_summary(table, "lifecycle")
    by_segment = charts.segment_summary(table, "segment")
    cells = charts.rfm_cells(table)
    total = len(table)
    now = table[["customer_id", "lifecycle"]].copy()  # a copy lets the rest go
    del table
    before = customers.rfm_summary_table(store=store, as_of=as_of - timedelta(days=FLOW_DAYS))
    flows = charts.lifecycle_flows(before, now)
    del before, now
    first = date(as_of.year, as_of.month, 1)
    for _i in range(COHORT_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    cohorts = customers.cohort_retention(store=store, start=first, end=as_of - timedelta(days=1))
    return CustomerNumbers(by_state=by_state, by_segment=by_segment, flows=flows, cells=cells,
                           cohorts=cohorts, customers_total=total)


def customer_page_data(
    *, store: Store, as_of: date, numbers: CustomerNumbers | None = None
) -> dict[str, object]:
    """Counts, flows, the RFM grid and the cohorts for the customers page, in
    the active language; ``numbers`` when they were counted already."""
    if numbers is None:
        numbers = customer_numbers(store=store, as_of=as_of)
    states = lifecycle_labels()
    by_state, by_segment, flows = numbers.by_state, numbers.by_segment, numbers.flows
    counts = {k: by_state.get(k, (0, 0.0))[0] for k in customers.LIFECYCLE_STATES}
    figures: dict[str, str] = {}
    if sum(counts.values()):
        figures["lifecycle-counts"] = charts.figure_json(charts.bar_figure(
            labels=[states[k] for k in counts], values=list(counts.values()),
            hover=[f"{states[k]}: {fmt.number(v)} · {fmt.money(by_state.get(k, (0, 0.0))[1], store.currency)}"
                   for k, v in counts.items()],
        ))
    sankey = charts.sankey_figure(
        sources=[f"then:{a}" for a, _b, _n in flows], targets=[f"now:{b}" for _a, b, _n in flows],
        values=[n for _a, _b, n in flows],
        node_labels={f"{when}:{k}": f"{v} ({label})" for k, v in states.items()
                     for when, label in (("then", _("%(days)s days ago") % {"days": FLOW_DAYS}),
                                         ("now", _("now")))},
    )
    if sankey is not None:
        figures["lifecycle-flows"] = charts.figure_json(sankey)
    rfm = charts.rfm_grid_figure(grid=numbers.cells, currency=store.currency)
    if rfm is not None:
        figures["rfm-grid"] = charts.figure_json(rfm)
    cohort = charts.cohort_figure(cohorts=numbers.cohorts)
    if cohort is not None:
        figures["cohorts"] = charts.figure_json(cohort)
    segments = [
        {"key": k, "label": label, "customers": by_segment.get(k, (0, 0.0))[0],
         "sales": by_segment.get(k, (0, 0.0))[1]}
        for k, label in rfm_segment_labels().items()
    ]
    lifecycle = [
        {"key": k, "label": states[k], "customers": counts.get(k, 0),
         "sales": by_state.get(k, (0, 0.0))[1]}
        for k in customers.LIFECYCLE_STATES
    ]
    return {"figures": figures, "segments": segments, "lifecycle": lifecycle,
            "customers_total": numbers.customers_total}


def channel_names() -> dict[str, str]:
    return {
        "search": _("Search"),
        "cps": _("Affiliate (CPS)"),
        "community": _("Community"),
        "ads": _("Display ads"),
        "activity": _("Activities and group buys"),
        "other": _("Organic and other"),
    }




def default_choice(store: Store) -> PeriodChoice:
    """What a store page shows when nobody picked: this month against the previous."""
    today = store_today(store)
    period = period_resolve(preset=DEFAULT_PRESET, today=today)
    return PeriodChoice(preset=DEFAULT_PRESET, base=DEFAULT_BASE, period=period, start=None, end=None)


def diagnosis_page(
    *, store: Store, choice: PeriodChoice, version: str | None = None
) -> tuple[selectors.Diagnosis, dict[str, object]]:
    """The diagnosis and its figures, cached."""
    version = version if version is not None else pagecache.store_data_version(store)
    result = diagnosis_cached(store, choice, version)
    page = pagecache.cached(
        store=store, version=version, per_language=True,
        parts=("diagnosis-figures", choice.period, choice.base),
        build=lambda: diagnosis_figures(store=store, choice=choice, result=result),
    )
    return result, page


def customer_page(
    *, store: Store, as_of: date, numbers: Callable[[], CustomerNumbers] | None = None
) -> dict[str, object]:
    """The customers page, cached; ``numbers`` gives its counts when another
    language's page may have counted them already (see ``pages_warm``)."""
    return pagecache.cached(
        store=store, parts=("customers", as_of), per_language=True,
        build=lambda: customer_page_data(
            store=store, as_of=as_of, numbers=numbers() if numbers is not None else None),
    )


def pages_warm(*, store: Store) -> None:
    """Build the pages people open first (the default diagnosis, the overview
    item, the customers page) in every language, so that the first visit
    after a load reads them from the cache."""
    choice = default_choice(store)
    version = pagecache.store_data_version(store)
    today = store_today(store)
    # The customer numbers are the same in every language and the costly part:
    # counted once, on the first page not in the cache, and shared.
    numbers = functools.cache(functools.partial(customer_numbers, store=store, as_of=today))
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            diagnosis_page(store=store, choice=choice, version=version)
            customer_page(store=store, as_of=today, numbers=numbers)
    store_overview_cached(store, choice, version)
