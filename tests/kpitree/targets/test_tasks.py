"""The daily attainment job records an alert once per turn to red."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings

from kpitree.models import AttainmentAlert, Target
from kpitree.targets.tasks import attainment_check_all, attainment_check_store
from stores.models import Store
from stores.rollups.refresh import rollups_refresh
from tests.factories import OrderFactory

START, END = dt.date(2025, 3, 1), dt.date(2025, 3, 31)


def _orders(store: Store, days: int, amount: int) -> None:
    for i in range(days):
        placed = dt.datetime.combine(START + dt.timedelta(days=i), dt.time(12), tzinfo=store.tzinfo)
        OrderFactory(store=store, placed_at=placed, amount=Decimal(amount))
    rollups_refresh(store=store)


@pytest.fixture
def order_value_target(store: Store) -> Target:
    _orders(store, 20, 100)  # order value 100 every day
    return Target.objects.create(store=store, metric="order_value", department="storefront",
                                 period_start=START, period_end=END, value=Decimal("120"))


@pytest.mark.django_db
def test_beat_schedule_runs_the_fan_out_daily() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["attainment-check-daily"]
    assert entry["task"] == "kpitree.attainment_check_all"


@pytest.mark.django_db
def test_a_red_target_alerts_once_however_often_the_job_runs(
    store: Store, order_value_target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kpitree.targets.services.store_today", lambda s: dt.date(2025, 3, 11))
    assert attainment_check_all.delay().get() >= 1
    attainment_check_all.delay().get()
    assert attainment_check_store.delay(store.pk).get() == 0
    monkeypatch.setattr("kpitree.targets.services.store_today", lambda s: dt.date(2025, 3, 12))
    assert attainment_check_store.delay(store.pk).get() == 0  # still red: no new alert
    alerts = list(AttainmentAlert.objects.filter(target=order_value_target))
    assert [(a.date, a.status) for a in alerts] == [(dt.date(2025, 3, 11), "red")]
    assert alerts[0].projected == Decimal("100")


@pytest.mark.django_db
def test_red_again_after_recovering_is_a_new_alert(
    store: Store, order_value_target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = {"today": dt.date(2025, 3, 11)}
    monkeypatch.setattr("kpitree.targets.services.store_today", lambda s: day["today"])
    attainment_check_store.delay(store.pk).get()
    # The manager lowers the target: green the next day.
    order_value_target.value = Decimal("90")
    order_value_target.save()
    day["today"] = dt.date(2025, 3, 12)
    assert attainment_check_store.delay(store.pk).get() == 1
    order_value_target.value = Decimal("130")
    order_value_target.save()
    day["today"] = dt.date(2025, 3, 13)
    assert attainment_check_store.delay(store.pk).get() == 1
    statuses = [(a.date.day, a.status) for a in
                AttainmentAlert.objects.filter(target=order_value_target).order_by("date")]
    assert statuses == [(11, "red"), (12, "green"), (13, "red")]


@pytest.mark.django_db
def test_a_green_target_records_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _orders(store, 10, 100)
    Target.objects.create(store=store, metric="order_value", department="storefront",
                          period_start=START, period_end=END, value=Decimal("90"))
    monkeypatch.setattr("kpitree.targets.services.store_today", lambda s: dt.date(2025, 3, 11))
    assert attainment_check_store.delay(store.pk).get() == 0
    assert not AttainmentAlert.objects.exists()


@pytest.mark.django_db
def test_a_deleted_store_is_a_no_op() -> None:
    assert attainment_check_store.delay(987654).get() == 0


@pytest.mark.django_db
def test_a_red_alert_shows_on_the_store_diagnosis_page(
    client, operator, store: Store, order_value_target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kpitree.targets.services.store_today", lambda s: dt.date(2025, 3, 11))
    attainment_check_store.delay(store.pk).get()
    client.force_login(operator)
    body = client.get(f"/stores/{store.slug}/?preset=custom&start=2025-03-01&end=2025-03-10").content.decode()
    assert 'id="attainment-alerts"' in body
    assert 'data-metric="order_value"' in body
