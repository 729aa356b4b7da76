"""Setting targets: history kept, department from the node's owner, managers only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError

from kpitree.engine import FUNNEL_TREE
from kpitree.models import Target
from kpitree.targets.allocation import allocate
from kpitree.targets.services import allocation_save, target_set
from stores.models import Store

MARCH: dict[str, Any] = {"period_start": dt.date(2025, 3, 1), "period_end": dt.date(2025, 3, 31)}


@pytest.mark.django_db
def test_changing_a_target_closes_the_old_row_and_keeps_it(store: Store, manager: User) -> None:
    first = target_set(store=store, user=manager, metric="conversion", value=Decimal("0.03"), **MARCH)
    second = target_set(store=store, user=manager, metric="conversion", value=Decimal("0.035"),
                        **MARCH)
    rows = list(Target.objects.filter(store=store, metric="conversion").order_by("set_at", "pk"))
    assert [r.value for r in rows] == [Decimal("0.03"), Decimal("0.035")]
    first.refresh_from_db()
    assert first.superseded_at is not None and second.superseded_at is None
    assert second.set_by == manager and second.department == "storefront"


@pytest.mark.django_db
def test_saving_the_same_value_twice_writes_nothing(store: Store, manager: User) -> None:
    a = target_set(store=store, user=manager, metric="visitors", value=Decimal("1000"), **MARCH)
    b = target_set(store=store, user=manager, metric="visitors", value=Decimal("1000"), **MARCH)
    assert a.pk == b.pk
    assert Target.objects.filter(store=store).count() == 1


@pytest.mark.django_db
def test_inner_node_without_owner_takes_its_ancestors_department(store: Store, manager: User) -> None:
    t = target_set(store=store, user=manager, metric="placing_rate", value=Decimal("0.05"), **MARCH)
    root = target_set(store=store, user=manager, metric="sales", value=Decimal("5"), **MARCH)
    assert t.department == "storefront"
    assert root.department == ""


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["operator", "analyst", "outsider"])
def test_only_managers_may_set_targets(store: Store, who: str, request: pytest.FixtureRequest) -> None:
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        target_set(store=store, user=user, metric="sales", value=Decimal("1"), **MARCH)
    assert not Target.objects.exists()


@pytest.mark.django_db
def test_superuser_counts_as_manager(store: Store) -> None:
    admin = User.objects.create_superuser("root", "r@example.com", "pw")
    target_set(store=store, user=admin, metric="sales", value=Decimal("1"), **MARCH)
    assert Target.objects.filter(store=store, set_by=admin).count() == 1


@pytest.mark.django_db
def test_unknown_metric_and_negative_value_are_refused(store: Store, manager: User) -> None:
    with pytest.raises(ValidationError):
        target_set(store=store, user=manager, metric="happiness", value=Decimal("1"), **MARCH)
    with pytest.raises(ValidationError):
        target_set(store=store, user=manager, metric="sales", value=Decimal("-1"), **MARCH)


@pytest.mark.django_db
def test_allocation_save_stores_every_node_under_its_owner(store: Store, manager: User) -> None:
    leaves = dict.fromkeys(FUNNEL_TREE.leaves(), 1.5) | {"browse_share": 0.9, "inquiry_rate": 0.1}
    result = allocate(FUNNEL_TREE, leaves, 12345.0)
    saved = allocation_save(store=store, user=manager, targets=result.targets, **MARCH)
    assert {t.metric for t in saved} == set(FUNNEL_TREE.nodes)
    by_metric = {t.metric: t for t in saved}
    assert by_metric["sales"].value == Decimal("12345")
    assert by_metric["visitors_search"].department == "promotion"
    assert by_metric["payment_rate"].department == "customer_service"
    assert by_metric["frequency"].department == "crm"
    # Saved with 8 decimals, the stored targets still multiply back to sales.
    product = (float(by_metric["visitors"].value) * float(by_metric["conversion"].value)
               * float(by_metric["frequency"].value) * float(by_metric["order_value"].value))
    assert product == pytest.approx(12345.0, rel=1e-6)
