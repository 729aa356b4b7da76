"""Diagnosis pages: the stores overview, a store's diagnosis, node drill-down,
customers and the segment export.

Thin on purpose: parse the period, scope the store through
``store_get_for_user`` (a 404 for anyone who is not a member), call one
selector, turn its result into figures with ``kpitree.charts``, render.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from kpitree import charts, customers, pagecache, pages, selectors
from kpitree import formatting as fmt
from kpitree.periods import PeriodError, period_resolve, store_today
from kpitree.scorecard import STAGES, StageRow
from kpitree.targets.display import alerts_for_display
from stores.models import Store
from stores.selectors import store_get_for_user, store_list_for_user, user_role_in_store

PERIOD_CHOICES: tuple[str, ...] = (
    "this_week", "last_week", "this_month", "last_month", "this_quarter", "last_quarter",
    "this_year", "custom",
)
BASE_CHOICES: tuple[str, ...] = ("previous", "last_year", "target", "peers")
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


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def period_choice(request: HttpRequest, *, today: date) -> pages.PeriodChoice:
    """The period from ?period=&start=&end=&base=; bad input falls back to the
    default with a message rather than an error page."""
    preset = request.GET.get("period", pages.DEFAULT_PRESET)
    base = request.GET.get("base", pages.DEFAULT_BASE)
    start, end = _date(request.GET.get("start")), _date(request.GET.get("end"))
    error = ""
    if base not in BASE_CHOICES:
        base, error = pages.DEFAULT_BASE, _("Unknown base; comparing with the previous period.")
    if preset not in PERIOD_CHOICES:
        preset, error = pages.DEFAULT_PRESET, _("Unknown period; showing this month.")
    try:
        period = period_resolve(preset=preset, start=start, end=end, today=today)
    except PeriodError:
        preset, error = pages.DEFAULT_PRESET, _("Choose a start and an end date (the end not before the start).")
        period = period_resolve(preset=preset, today=today)
    return pages.PeriodChoice(preset, base, period, start, end, error)


def _picker_context(choice: pages.PeriodChoice) -> dict[str, object]:
    return {
        "choice": choice,
        "period_options": list(period_labels().items()),
        "base_options": list(pages.base_labels().items()),
        "base_label": pages.base_labels()[choice.base],
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
        item, spark_json = pages.store_overview_cached(store, choice, versions[store.pk])
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


def scorecard_order(stages: list[StageRow], shortest: int | None) -> list[StageRow]:
    """The shortest stave first, then the stages in their funnel order."""
    return sorted(stages, key=lambda s: (s.stage != shortest, s.stage))


@login_required
@require_GET
def diagnosis(request: HttpRequest, slug: str) -> HttpResponse:
    store = store_get_for_user(user=request.user, slug=slug)
    choice = period_choice(request, today=store_today(store))
    result, page = pages.diagnosis_page(store=store, choice=choice)
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
    result = pages.diagnosis_cached(store, choice, pagecache.store_data_version(store))
    tree_result = result.trees.get(tree)
    node = next((n for n in tree_result.nodes if n.key == key), None) if tree_result else None
    if tree_result is None or node is None:
        raise Http404("No such node")
    children = [n for n in tree_result.nodes if n.parent == key]
    base_label = pages.base_labels()[choice.base]
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


@login_required
@require_GET
def customers_page(request: HttpRequest, slug: str) -> HttpResponse:
    store = store_get_for_user(user=request.user, slug=slug)
    as_of = _date(request.GET.get("as_of")) or store_today(store)
    data = pages.customer_page(store=store, as_of=as_of)
    context = {
        **_store_context(request, store, "customers"),
        **data,
        "as_of": as_of,
        "flow_days": pages.FLOW_DAYS,
        "currency": store.currency,
    }
    return render(request, "kpitree/customers.html", context)


@login_required
@require_GET
def customers_export(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    """The customers of an RFM segment (``?segment=``) or a lifecycle state
    (``?lifecycle=``) as CSV for an SMS or email campaign."""
    store = store_get_for_user(user=request.user, slug=slug)
    as_of = _date(request.GET.get("as_of")) or store_today(store)
    segment = request.GET.get("segment") or None
    lifecycle = request.GET.get("lifecycle") or None
    if segment is None and lifecycle is None:
        raise Http404("No segment given")
    try:
        rows = customers.segment_customers(store=store, as_of=as_of, segment=segment, lifecycle=lifecycle)
    except ValueError as exc:
        raise Http404("No such segment") from exc
    header = customers.RFM_COLUMNS
    response = StreamingHttpResponse(
        csv_stream(header, ([row[c] for c in header] for row in rows)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{store.slug}-{"-".join(filter(None, (segment, lifecycle)))}-'
        f'{as_of.isoformat()}.csv"'
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


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else float(a) - float(b)


def _ratio_change(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or float(b) == 0 else float(a) / float(b) - 1
