"""Orders and lines carry no database-checked foreign keys (they cost a big
load most of its commit time): these tests hold the loaders and Django's
on_delete rules to what the checks used to guarantee."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import RestrictedError

from stores.models import Customer, Order, OrderLine
from tests.factories import StoreFactory
from tests.stores.ingest.helpers import FIXTURES, generic_orders_csv, load

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CLEAN = {"order_store": 0, "order_customer": 0, "line_order": 0, "customer_store": 0, "line_key": 0}


def orphans() -> dict[str, int]:
    """Rows whose keys point at nothing, or at another store's customer."""
    queries = {
        "order_store": "SELECT count(*) FROM stores_order o LEFT JOIN stores_store s ON s.id = o.store_id "
        "WHERE s.id IS NULL",
        "order_customer": "SELECT count(*) FROM stores_order o LEFT JOIN stores_customer c "
        "ON c.id = o.customer_id WHERE o.customer_id IS NOT NULL "
        "AND (c.id IS NULL OR c.store_id <> o.store_id)",
        "line_order": "SELECT count(*) FROM stores_orderline l LEFT JOIN stores_order o "
        "ON o.id = l.order_id WHERE o.id IS NULL",
        "customer_store": "SELECT count(*) FROM stores_customer c LEFT JOIN stores_store s "
        "ON s.id = c.store_id WHERE s.id IS NULL",
        # The lines' key (no B-tree holds it on PostgreSQL): each order's lines
        # are numbered 1..n, no number twice.
        "line_key": "SELECT count(*) FROM (SELECT order_id FROM stores_orderline GROUP BY order_id "
        "HAVING count(*) <> count(DISTINCT line_no) OR min(line_no) <> 1 "
        "OR max(line_no) <> count(*)) k",
    }
    with connection.cursor() as cursor:
        out = {}
        for name, sql in queries.items():
            cursor.execute(sql)
            out[name] = cursor.fetchone()[0]
    return out


def test_loads_into_two_stores_leave_every_key_pointing_at_its_own_store(tmp_path):
    first, second = StoreFactory(currency="EUR"), StoreFactory()
    # The same customer ids in both stores: each order must take its own store's customer.
    path = generic_orders_csv(tmp_path / "orders.csv", orders=300)
    assert load(first, path).status == "loaded"
    assert load(second, path).status == "loaded"
    assert load(first, FIXTURES / "shopify_orders_export.csv").status == "loaded"
    # An overlapping export again, with other statuses: lines are replaced.
    again = generic_orders_csv(tmp_path / "again.csv", orders=100, status="unpaid")
    assert load(first, again).status == "loaded"
    assert OrderLine.objects.filter(order__store=first).count() == 2 * 300 + 6
    assert orphans() == CLEAN
    # A re-export whose lines changed (a line dropped from each of 40 orders,
    # 20 of them already loaded): their lines are replaced, the others kept.
    changed = tmp_path / "changed.csv"
    with changed.open("w") as fh:
        fh.write("order_id,customer_id,placed_at,paid_at,status,amount,sku,quantity,unit_price\n")
        for i in range(280, 320):
            fh.write(f"O{i},C{i % 5000},2025-05-{1 + i % 20:02d} 10:00:00,,unpaid,30.00,SKUX,3,10.00\n")
    assert load(first, changed).status == "loaded"
    assert OrderLine.objects.filter(order__store=first).count() == 2 * 280 + 40 + 6
    assert set(OrderLine.objects.filter(order__store=first, order__external_id__in=["O285", "O300"])
               .values_list("sku", "quantity")) == {("SKUX", 3)}
    assert orphans() == CLEAN
    assert not Order.objects.filter(store=first, customer__store=second).exists()


def test_deleting_a_store_takes_its_orders_and_lines_and_nothing_else(tmp_path):
    first, second = StoreFactory(), StoreFactory()
    path = generic_orders_csv(tmp_path / "orders.csv", orders=50)
    load(first, path)
    load(second, path)
    first.delete()
    assert orphans() == CLEAN
    assert not Customer.objects.filter(store_id=first.pk).exists()
    assert Order.objects.filter(store=second).count() == 50
    assert OrderLine.objects.filter(order__store=second).count() == 100


def test_a_customer_with_orders_cannot_be_deleted_and_an_order_takes_its_lines(tmp_path):
    store = StoreFactory()
    load(store, generic_orders_csv(tmp_path / "orders.csv", orders=10))
    customer = Customer.objects.filter(store=store, orders__isnull=False).first()
    assert customer is not None
    with pytest.raises(RestrictedError):
        customer.delete()
    order = Order.objects.filter(store=store).first()
    assert order is not None and order.lines.count() == 2
    order.delete()
    assert orphans()["line_order"] == 0
    assert OrderLine.objects.filter(order__store=store).count() == 18
