"""Pages: targets with attainment and history, top-down allocation,
department scorecards. Thin: parse, check permission, call one selector or
service, render."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kpitree import formatting as fmt
from kpitree.engine import FUNNEL_TREE
from kpitree.formatting import localized_name
from kpitree.periods import Period, grain_end, grain_start, store_today
from kpitree.targets.allocation import Allocation, AllocationError
from kpitree.targets.attainment import attainment_list, department_scorecards
from kpitree.targets.display import (
    alerts_for_display,
    attainment_lines,
    history_lines,
    scorecard_views,
)
from kpitree.targets.forms import AllocateForm, TargetForm
from kpitree.targets.selectors import allocation_propose, target_history
from kpitree.targets.services import (
    allocation_save,
    node_department,
    target_set,
    user_may_set_targets,
)
from stores.models import Store
from stores.selectors import store_get_for_user, user_role_in_store


def _context(request: HttpRequest, store: Store, tab: str) -> dict[str, object]:
    role = user_role_in_store(user=request.user, store=store)
    return {"store": store, "tab": tab, "can_set": user_may_set_targets(user=request.user,
                                                                         store=store),
            "can_upload": role in ("analyst", "manager")}


def _this_month(store: Store) -> dict[str, object]:
    today = store_today(store)
    return {"period_start": grain_start(today, "month"), "period_end": grain_end(today, "month")}


@login_required
@require_http_methods(["GET", "POST"])
def targets_page(request: HttpRequest, slug: str) -> HttpResponse:
    store = store_get_for_user(user=request.user, slug=slug)
    context = _context(request, store, "targets")
    form = TargetForm(initial=_this_month(store))
    if request.method == "POST":
        if not context["can_set"]:
            raise PermissionDenied
        form = TargetForm(request.POST)
        if form.is_valid():
            tree, metric = form.tree_and_metric
            try:
                target_set(store=store, user=request.user, tree=tree, metric=metric,
                           period_start=form.cleaned_data["period_start"],
                           period_end=form.cleaned_data["period_end"],
                           value=form.cleaned_data["value"], note=form.cleaned_data["note"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Target saved."))
                return redirect("targets:targets", slug=store.slug)
    cur = store.currency
    context |= {"form": form, "rows": attainment_lines(attainment_list(store=store), cur),
                "history": history_lines(target_history(store=store)[:200], cur),
                "alerts": alerts_for_display(store=store)}
    return render(request, "kpitree/targets/targets.html", context)


@dataclass(frozen=True)
class AllocationRow:
    key: str
    name: str
    depth: int
    department: str
    recent: str
    target: str  # the input's value: full precision, so a round trip stays exact
    target_text: str
    growth: str
    fixed: bool


def allocation_rows(allocation: Allocation, currency: str) -> list[AllocationRow]:
    rows = []
    for key, node in FUNNEL_TREE.nodes.items():
        target = allocation.targets.get(key)
        growth = allocation.growth(key)
        rows.append(AllocationRow(
            key=key, name=localized_name(node), depth=len(FUNNEL_TREE.ancestors(key)),
            department=node_department(FUNNEL_TREE, key),
            recent=fmt.metric(allocation.recent.get(key), node.unit, currency),
            target="" if target is None else repr(target),
            target_text=fmt.metric(target, node.unit, currency),
            growth=fmt.change_percent(None if growth is None else growth - 1.0),
            fixed=key in allocation.fixed,
        ))
    return rows


def _fixed_from(request: HttpRequest) -> dict[str, float]:
    fixed: dict[str, float] = {}
    for key in FUNNEL_TREE.nodes:
        if request.POST.get(f"fix_{key}") and request.POST.get(f"node_{key}"):
            try:
                fixed[key] = float(request.POST[f"node_{key}"])
            except ValueError:
                continue
    return fixed


@login_required
@require_http_methods(["GET", "POST"])
def allocate_page(request: HttpRequest, slug: str) -> HttpResponse:
    store = store_get_for_user(user=request.user, slug=slug)
    context = _context(request, store, "allocate")
    if not context["can_set"]:
        raise PermissionDenied
    form = AllocateForm(request.POST or None, initial=_this_month(store))
    allocation = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        period = Period(data["period_start"], data["period_end"])
        action = request.POST.get("action", "propose")
        fixed = _fixed_from(request) if action in ("rebalance", "save") else {}
        try:
            allocation = allocation_propose(store=store, period=period,
                                            sales_target=data["sales_target"], rule=data["rule"],
                                            today=store_today(store), fixed=fixed)
        except AllocationError as exc:
            form.add_error(None, str(exc))
        else:
            if action == "save":
                allocation_save(store=store, user=request.user, period_start=period.start,
                                period_end=period.end, targets=allocation.targets,
                                note=_("top-down allocation"))
                messages.success(request, _("The targets of every node are saved."))
                return redirect("targets:targets", slug=store.slug)
    context |= {"form": form, "allocation": allocation,
                "rows": allocation_rows(allocation, store.currency) if allocation else []}
    return render(request, "kpitree/targets/allocate.html", context)


@login_required
@require_GET
def departments_page(request: HttpRequest, slug: str) -> HttpResponse:
    store = store_get_for_user(user=request.user, slug=slug)
    context = _context(request, store, "departments")
    cards = scorecard_views(department_scorecards(store=store), store.currency)
    context |= {"cards": cards, "alerts": alerts_for_display(store=store)}
    return render(request, "kpitree/targets/departments.html", context)
