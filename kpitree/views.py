"""Diagnosis pages: the stores overview, a store's diagnosis, node drill-down,
customers and the segment export.

Thin on purpose: parse the period, scope the store through
``store_get_for_user`` (a 404 for anyone who is not a member), call one
selector, turn its result into figures with ``kpitree.charts``, render.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kpitree import charts, customers, pagecache, selectors
from kpitree import formatting as fmt
from kpitree.engine import CHANNELS
from kpitree.periods import Period, PeriodError, period_resolve, store_today
from kpitree.scorecard import STAGES, StageRow
from kpitree.targets.display import alerts_for_display
from stores.models import Store
from stores.selectors import store_get_for_user, store_list_for_user, user_role_in_store

PERIOD_CHOICES: tuple[str, ...] = (
    "this_week", "last_week", "this_month", "last_month", "this_quarter", "last_quarter",
    "this_year", "custom",
)
BASE_CHOICES: tuple[str, ...] = ("previous", "last_year", "target", "peers")
DEFAULT_PRESET = "this_month"
DEFAULT_BASE = "previous"
UPLOAD_ROLES = ("manager", "analyst")


def period_labels() -> dict[str, str]:
    return {
        "this_week": _("This week"),
        "last_week": _("Last week"),
        "this_month": _("This month"),
        "last_month": _("Last month"),
        "this_quarter": _("This quarter"),
        "last_quarter": _("Last quarter"),
        "this_year": _("This year"),
        "custom": _("Custom"),
    }


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


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def period_choice(request: HttpRequest, *, today: date) -> PeriodChoice:
    """The period from ?period=&start=&end=&base=; bad input falls back to the
    default with a message rather than an error page."""
    preset = request.GET.get("period", DEFAULT_PRESET)
    base = request.GET.get("base", DEFAULT_BASE)
    start, end = _date(request.GET.get("start")), _date(request.GET.get("end"))
    error = ""
    if base not in BASE_CHOICES:
        base, error = DEFAULT_BASE, _("Unknown base; comparing with the previous period.")
    if preset not in PERIOD_CHOICES:
        preset, error = DEFAULT_PRESET, _("Unknown period; showing this month.")
    try:
        period = period_resolve(preset=preset, start=start, end=end, today=today)
    except PeriodError:
        preset, error = DEFAULT_PRESET, _("Choose a start and an end date (the end not before the start).")
        period = period_resolve(preset=preset, today=today)
    return PeriodChoice(preset, base, period, start, end, error)


def _picker_context(choice: PeriodChoice) -> dict[str, object]:
    return {
        "choice": choice,
        "period_options": list(period_labels().items()),
        "base_options": list(base_labels().items()),
        "base_label": base_labels()[choice.base],
    }


def _store_context(request: HttpRequest, store: Store, tab: str) -> dict[str, object]:
    role = user_role_in_store(user=request.user, store=store)
    return {"store": store, "tab": tab, "can_upload": role in UPLOAD_ROLES}


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    stores = list(store_list_for_user(user=request.user))
    versions = pagecache.store_data_versions(stores)
    rows = []
    choice = None
    for store in stores:
        # Each store has its own "today" (time zones), so resolve per store.
        choice = period_choice(request, today=store_today(store))
        item, spark_json = _store_overview(store, choice, versions[store.pk])
        rows.append(
            {
                "store": store,
                "overview": item,
                "stages": [
                    {"stage": s.number, "name_en": s.name_en, "name_zh": s.name_zh,
                     "status": item.stage_statuses.get(s.number)}
                    for s in STAGES
                ],
                "stave": next((s for s in STAGES if s.number == item.shortest_stave), None),
                "spark_json": spark_json,
            }
        )
    if choice is None:
        choice = period_choice(request, today=date.today())  # noqa: DTZ011  (no store: labels only)
    context = {"rows": rows, **_picker_context(choice)}
    return render(request, "kpitree/overview.html", context)


def _store_overview(
    store: Store, choice: PeriodChoice, version: str
) -> tuple[selectors.StoreOverview, str]:
    def build() -> tuple[selectors.StoreOverview, str]:
        item = selectors.store_overview(store=store, period=choice.period, base=choice.base)
        spark = charts.sparkline_figure(series=item.daily_sales, currency=store.currency)
        return item, charts.figure_json(spark, static=True) if spark else ""

    return pagecache.cached(
        store=store, version=version, parts=("overview", choice.period, choice.base), build=build
    )


def scorecard_order(stages: list[StageRow], shortest: int | None) -> list[StageRow]:
    """The shortest stave first, then the stages in their funnel order."""
    return sorted(stages, key=lambda s: (s.stage != shortest, s.stage))


def _diagnosis_get(store: Store, choice: PeriodChoice, version: str) -> selectors.Diagnosis:
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


@login_required
@require_GET
def diagnosis(request: HttpRequest, slug: str) -> HttpResponse:
    store = store_get_for_user(user=request.user, slug=slug)
    choice = period_choice(request, today=store_today(store))
    version = pagecache.store_data_version(store)
    result = _diagnosis_get(store, choice, version)
    page = pagecache.cached(
        store=store, version=version, per_language=True,
        parts=("diagnosis-figures", choice.period, choice.base),
        build=lambda: diagnosis_figures(store=store, choice=choice, result=result),
    )
    context = {
        **_store_context(request, store, "diagnosis"),
        **_picker_context(choice),
        **page,
        "result": result,
        "alerts": alerts_for_display(store=store),
        "scorecard": scorecard_order(result.scorecard, result.shortest_stave),
        "stave": next((s for s in result.scorecard if s.stage == result.shortest_stave), None),
        "sales_change": _minus(result.sales, result.base_sales),
        "sales_change_pct": _ratio_change(result.sales, result.base_sales),
    }
    return render(request, "kpitree/diagnosis.html", context)


@login_required
@require_GET
def node_detail(request: HttpRequest, slug: str, tree: str, key: str) -> HttpResponse:
    """The drill-down panel: a node, its children, its daily values."""
    store = store_get_for_user(user=request.user, slug=slug)
    choice = period_choice(request, today=store_today(store))
    result = _diagnosis_get(store, choice, pagecache.store_data_version(store))
    tree_result = result.trees.get(tree)
    node = next((n for n in tree_result.nodes if n.key == key), None) if tree_result else None
    if tree_result is None or node is None:
        raise Http404("No such node")
    children = [n for n in tree_result.nodes if n.parent == key]
    base_label = base_labels()[choice.base]
    column = key if key in selectors.SERIES_METRICS else None
    figure_json = ""
    daily_rows: list[tuple[date, str]] = []
    if column is not None:
        daily = selectors.daily_series(store=store, period=choice.period, metrics=[column])
        base_daily = (
            selectors.daily_series(store=store, period=result.base_period, metrics=[column])
            if result.base_period is not None
            else None
        )
        fig = charts.trend_figure(
            current=daily, base=base_daily, column=column, unit=node.unit,
            title=fmt.localized_name(node), currency=store.currency, base_label=base_label,
            height=220,
        )
        figure_json = charts.figure_json(fig) if fig else ""
        if column in daily.columns:
            daily_rows = [(d, fmt.metric(v, node.unit, store.currency))
                          for d, v in daily[column].items()]
    context = {
        "store": store,
        "tree_key": tree,
        "node": node,
        "children": children,
        "figure_json": figure_json,
        "chart_id": f"node-trend-{tree}-{key}",
        "daily_rows": daily_rows,
        "base_label": base_label,
        "currency": store.currency,
    }
    return render(request, "kpitree/_node_detail.html", context)


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


def customer_page_data(*, store: Store, as_of: date) -> dict[str, object]:
    """Counts, flows, the RFM grid and the cohorts for the customers page."""
    # rfm_table is the expensive read (one grouped pass over the store's orders);
    # the counts and the grid are summaries of it, so read it once, not three times.
    table = customers.rfm_table(store=store, as_of=as_of)
    before = customers.rfm_table(store=store, as_of=as_of - timedelta(days=FLOW_DAYS))
    first = date(as_of.year, as_of.month, 1)
    for _i in range(COHORT_MONTHS - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    cohorts = customers.cohort_retention(store=store, start=first, end=as_of - timedelta(days=1))
    states = lifecycle_labels()
    by_state = charts.segment_summary(table, "lifecycle")
    counts = {k: by_state.get(k, (0, 0.0))[0] for k in customers.LIFECYCLE_STATES}
    by_segment = charts.segment_summary(table, "segment")
    flows = charts.lifecycle_flows(before, table)
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
    rfm = charts.rfm_grid_figure(grid=charts.rfm_cells(table), currency=store.currency)
    if rfm is not None:
        figures["rfm-grid"] = charts.figure_json(rfm)
    cohort = charts.cohort_figure(cohorts=cohorts)
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
            "customers_total": len(table)}


@login_required
@require_GET
def customers_page(request: HttpRequest, slug: str) -> HttpResponse:
    store = store_get_for_user(user=request.user, slug=slug)
    as_of = _date(request.GET.get("as_of")) or store_today(store)
    data = pagecache.cached(
        store=store, parts=("customers", as_of), per_language=True,
        build=lambda: customer_page_data(store=store, as_of=as_of),
    )
    context = {
        **_store_context(request, store, "customers"),
        **data,
        "as_of": as_of,
        "flow_days": FLOW_DAYS,
        "currency": store.currency,
    }
    return render(request, "kpitree/customers.html", context)


@login_required
@require_GET
def customers_export(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    """One segment's customers as CSV for an SMS or email campaign."""
    store = store_get_for_user(user=request.user, slug=slug)
    as_of = _date(request.GET.get("as_of")) or store_today(store)
    segment = request.GET.get("segment", "")
    if segment not in (*customers.RFM_SEGMENTS, *customers.LIFECYCLE_STATES):
        raise Http404("No such segment")
    rows = customers.segment_customers(store=store, as_of=as_of, segment=segment)
    header = customers.RFM_COLUMNS
    response = StreamingHttpResponse(
        csv_stream(header, ([row[c] for c in header] for row in rows)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{store.slug}-{segment}-{as_of.isoformat()}.csv"'
    )
    return response


# ---------------------------------------------------------------------------


class _Echo:
    """A file-like object for csv.writer that hands each line back."""

    def write(self, value: str) -> str:
        return value


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """A cell Excel will not evaluate: text that starts like a formula gets a
    leading apostrophe (OWASP's CSV injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_stream(header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    # The BOM makes Excel read the file as UTF-8, so Chinese names survive.
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([csv_safe(h) for h in header])
    for row in rows:
        yield writer.writerow([csv_safe(cell) for cell in row])


def channel_names() -> dict[str, str]:
    return {
        "search": _("Search"),
        "cps": _("Affiliate (CPS)"),
        "community": _("Community"),
        "ads": _("Display ads"),
        "activity": _("Activities and group buys"),
        "other": _("Organic and other"),
    }


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else float(a) - float(b)


def _ratio_change(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or float(b) == 0 else float(a) / float(b) - 1
