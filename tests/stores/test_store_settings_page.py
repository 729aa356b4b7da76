"""The store's settings page: analysts see how their files are read,
managers change it; a new zone or window computes the rollups again."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from stores.models import Store
from stores.rollups.refresh import rollups_basis
from tests.stores.ingest.helpers import load
from tests.stores.test_rollup_delta import Shop, rollups

pytestmark = pytest.mark.django_db(transaction=True)

SETTINGS = {"timezone": "Asia/Shanghai", "date_order": "dmy", "nurture_window_days": "30", "churn_window_days": "90"}


def url(store: Store) -> str:
    return reverse("stores:store_settings", kwargs={"slug": store.slug})


def test_a_manager_changes_the_windows_and_the_rollups_follow(client, manager, store, tmp_path):
    shop = Shop(seed=4)
    load(store, shop.write(tmp_path / "orders.csv", sorted(
        shop.order(date(2026, 3, 1) + timedelta(days=i % 40)) for i in range(200))))
    before = rollups(store)
    client.force_login(manager)
    response = client.post(url(store), SETTINGS | {"churn_window_days": "40"}, follow=True)
    assert "being computed again" in response.content.decode()
    store.refresh_from_db()
    assert (store.churn_window_days, store.date_order) == (40, "dmy")
    assert store.rollups_basis == rollups_basis(store)
    assert rollups(store) != before


def test_the_nurture_window_cannot_outlast_the_churn_window(client, manager, store):
    client.force_login(manager)
    response = client.post(url(store), SETTINGS | {"nurture_window_days": "120"})
    assert response.status_code == 200 and "cannot be longer" in response.content.decode()
    store.refresh_from_db()
    assert store.nurture_window_days != 120


def test_an_analyst_sees_the_settings_but_cannot_change_them(client, analyst, store):
    client.force_login(analyst)
    page = client.get(url(store)).content.decode()
    assert "Asia/Shanghai" in page and "disabled" in page
    assert client.post(url(store), SETTINGS | {"churn_window_days": "40"}).status_code == 403
    store.refresh_from_db()
    assert store.churn_window_days != 40


@pytest.mark.parametrize("who", ["outsider", "operator", None])
def test_the_page_is_refused_to_those_who_do_not_upload_to_the_store(client, request, store, who):
    if who:
        client.force_login(request.getfixturevalue(who))
    assert client.get(url(store)).status_code == (404 if who else 302)
    client.post(url(store), SETTINGS | {"churn_window_days": "40"})
    store.refresh_from_db()
    assert store.churn_window_days != 40
