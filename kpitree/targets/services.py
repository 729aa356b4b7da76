"""Writes about targets: set one with history kept, save an allocation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from kpitree.engine import DEFAULT_TREES, TreeSpec
from kpitree.models import AttainmentAlert, Target
from kpitree.periods import store_today
from stores.models import Role, Store
from stores.selectors import AnyUser, user_role_in_store

SETTER_ROLES: frozenset[str] = frozenset({Role.MANAGER.value})
# Targets are stored with eight decimals; more would be noise from the allocation.
_QUANTUM = Decimal("0.00000001")


def user_may_set_targets(*, user: AnyUser, store: Store) -> bool:
    """Managers of the store and superusers (who count as managers)."""
    return user_role_in_store(user=user, store=store) in SETTER_ROLES


def node_department(tree: TreeSpec, key: str) -> str:
    """The department owning a node: its own, else its nearest owning
    ancestor's; "" for the store-level root (sales)."""
    for candidate in (key, *tree.ancestors(key)):
        department = tree[candidate].department
        if department:
            return department
    return ""


def _tree(key: str) -> TreeSpec:
    try:
        return DEFAULT_TREES[key]
    except KeyError:
        raise ValidationError(f"unknown tree {key!r}") from None


def target_set(
    *,
    store: Store,
    user: AnyUser,
    metric: str,
    period_start: dt.date,
    period_end: dt.date,
    value: Decimal,
    tree: str = "funnel",
    department: str | None = None,
    note: str = "",
) -> Target:
    """Set the target of one metric for one period; the current one, if any,
    is closed (``superseded_at``) rather than overwritten. An unchanged value
    and department writes nothing, so saving a form twice is harmless."""
    if not user_may_set_targets(user=user, store=store):
        raise PermissionDenied("only the store's managers may set targets")
    spec = _tree(tree)
    if metric not in spec:
        raise ValidationError(f"{metric!r} is not a metric of the {tree} tree")
    if period_end < period_start:
        raise ValidationError("the period ends before it starts")
    value = Decimal(value).quantize(_QUANTUM)
    if value < 0:
        raise ValidationError("a target cannot be negative")
    department = node_department(spec, metric) if department is None else department
    with transaction.atomic():
        current = (
            Target.objects.select_for_update()
            .filter(store=store, tree=tree, metric=metric, period_start=period_start,
                    period_end=period_end, superseded_at__isnull=True)
            .first()
        )
        if current is not None:
            if current.value == value and current.department == department:
                return current
            current.superseded_at = timezone.now()
            current.save(update_fields=["superseded_at"])
        return Target.objects.create(
            store=store, tree=tree, metric=metric, department=department,
            period_start=period_start, period_end=period_end, value=value,
            set_by=user if isinstance(user, User) else None, note=note,
        )


def allocation_save(
    *,
    store: Store,
    user: AnyUser,
    period_start: dt.date,
    period_end: dt.date,
    targets: Mapping[str, float | None],
    tree: str = "funnel",
    note: str = "",
) -> list[Target]:
    """Save the proposed target of every node of an allocation for the
    period, each under the department owning the node, all or none."""
    if not user_may_set_targets(user=user, store=store):
        raise PermissionDenied("only the store's managers may set targets")
    spec = _tree(tree)
    unknown = sorted(set(targets) - set(spec.nodes))
    if unknown:
        raise ValidationError(f"not metrics of the {tree} tree: {unknown}")
    saved: list[Target] = []
    with transaction.atomic():
        for key in spec.nodes:
            value = targets.get(key)
            if value is None:
                continue
            saved.append(target_set(
                store=store, user=user, metric=key, tree=tree,
                period_start=period_start, period_end=period_end,
                value=Decimal(repr(float(value))), note=note,
            ))
    return saved


def alerts_record(*, store: Store, today: dt.date | None = None) -> list[AttainmentAlert]:
    """Record each target of a running (or just ended) period whose status
    changed since the last record; a red one is an alert. Safe to run twice
    a day: the last record already holds today's status, and there is at
    most one record per target and day."""
    from kpitree.targets.attainment import attainment_list

    today = today or store_today(store)
    live = Target.objects.filter(
        store=store, superseded_at__isnull=True, period_start__lt=today,
        period_end__gte=today - dt.timedelta(days=1),
    ).select_related("store")
    created: list[AttainmentAlert] = []
    for row in attainment_list(store=store, today=today, targets=live):
        if row.status is None:
            continue
        last = AttainmentAlert.objects.filter(target=row.target).order_by("-date", "-pk").first()
        previous = last.status if last is not None else None
        if previous == row.status or (previous is None and row.status != "red"):
            continue
        alert, was_created = AttainmentAlert.objects.get_or_create(
            target=row.target, date=today,
            defaults={"store": store, "status": row.status,
                      "actual": _decimal(row.actual), "projected": _decimal(row.projected)},
        )
        if was_created:
            created.append(alert)
    return created


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value)).quantize(_QUANTUM)
