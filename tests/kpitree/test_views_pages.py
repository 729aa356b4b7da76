"""The diagnosis and customers pages on small, known data."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from kpitree import charts, customers
from kpitree.periods import store_today
from stores.rollups import rollups_refresh
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def _order(store, customer, day: date, amount: str) -> None:
    OrderFactory(store=store, customer=customer, amount=Decimal(amount),
                 placed_at=datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC))  # noon in Shanghai


def test_new_data_shows_without_waiting_for_the_cache(client, operator, store):
    """The page cache is keyed by the store's data version: a load (which
    ends in a rollup refresh) changes what the next request shows."""
    client.force_login(operator)
    url = reverse("kpitree:diagnosis", kwargs={"slug": store.slug})
    assert "¥1,234" not in client.get(url).content.decode()

    _order(store, CustomerFactory(store=store), store_today(store), "1234.00")  # this month
    rollups_refresh(store=store)

    assert "¥1,234" in client.get(url).content.decode()


def test_empty_store_says_what_to_upload(client, operator, store):
    client.force_login(operator)
    body = client.get(reverse("kpitree:diagnosis", kwargs={"slug": store.slug})).content.decode()
    assert "Upload an order export" in body
    assert reverse("stores:upload_list", kwargs={"slug": store.slug}) in body
    body = client.get(reverse("kpitree:customers", kwargs={"slug": store.slug})).content.decode()
    assert "No customers yet" in body


def test_pages_speak_chinese(client, operator, store):
    client.force_login(operator)
    with translation.override("zh-hans"):
        body = client.get(reverse("kpitree:diagnosis", kwargs={"slug": store.slug}),
                          HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "七环节计分卡" in body
    assert "流失挽回" in body  # a stage name from the selector, picked by language


def test_rfm_cells_match_the_selectors_grid(store):
    as_of = date(2025, 6, 1)
    for i in range(12):
        customer = CustomerFactory(store=store)
        for k in range(1 + i % 3):
            _order(store, customer, date(2025, 1 + i % 5, 1 + k), f"{50 + 10 * i}.00")
    table = customers.rfm_table(store=store, as_of=as_of)
    ours = charts.rfm_cells(table).set_index(["r_score", "f_score"])
    grid = customers.rfm_grid(store=store, as_of=as_of)
    theirs = grid[grid["customers"] > 0].set_index(["r_score", "f_score"])
    assert ours["customers"].to_dict() == theirs["customers"].to_dict()
    assert ours["monetary"].round(2).to_dict() == theirs["monetary"].round(2).to_dict()
