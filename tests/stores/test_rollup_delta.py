"""A load that touches a few customers refreshes the rollups by difference
(stores.rollups.delta): the rows it leaves must be exactly those a refresh
from scratch writes, whatever the load changed: statuses, amounts, an order
given to another buyer or to a guest, a new buyer, an order dated months
back, a day the bases had not been written for yet."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from stores.models import CustomerBaseDaily, CustomerDaily, SalesDaily, Store, UploadStatus
from stores.rollups import delta, rollups_refresh
from tests.factories import StoreFactory
from tests.stores.ingest.helpers import load

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

HEADER = "order_id,customer_id,placed_at,paid_at,status,amount,items,channel,sku,quantity,unit_price,inquired"
# From November 2025 to 8 February 2026: a refresh from a day in 2026 reads
# the orders of 2026 and the 2025 ones as each customer's history.
FIRST_DAY = date(2025, 11, 1)
DAYS = 100


def rollups(store: Store) -> list[list[tuple]]:
    return [
        sorted(model.objects.filter(store=store).values_list(*fields))
        for model, fields in (
            (SalesDaily, ("date", "channel", "orders_placed", "orders_paid", "sales", "gross_sales", "refunds",
                          "units", "orders_unpaid", "unpaid_amount")),
            (CustomerDaily, ("date", "grain", "segment", "placers", "inquiry_placers", "buyers", "orders_paid",
                             "sales", "units")),
            (CustomerBaseDaily, ("date", "customers", "nurtured", "active", "lapsed", "lapses", "lapses_first")),
        )
    ]


class Shop:
    """Orders as a platform exports them, changed between exports."""

    def __init__(self, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.orders: dict[str, dict[str, object]] = {}
        self.next_id = 1000

    def order(self, day: date, customer: str | None = None) -> str:
        rng = self.rng
        order_id = f"T{self.next_id}"
        self.next_id += 1
        if customer is None:
            customer = "" if rng.random() < 0.15 else f"c{rng.randint(1, 90)}"
        self.orders[order_id] = {
            "customer": customer, "day": day, "status": rng.choice(["paid", "paid", "paid", "unpaid", "refunded"]),
            "amount": f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}", "channel": rng.choice(["search", "ads", "cps"]),
            "inquired": rng.choice(["yes", "no"]), "hour": rng.randint(0, 23),
        }
        return order_id

    def write(self, path: Path, ids: list[str]) -> Path:
        lines = [HEADER]
        for order_id in ids:
            o = self.orders[order_id]
            placed = f"{o['day']} {o['hour']:02d}:15:00"
            paid = placed if o["status"] in ("paid", "refunded") else ""
            lines.append(f"{order_id},{o['customer']},{placed},{paid},{o['status']},{o['amount']},1,"
                         f"{o['channel']},S1,1,{o['amount']},{o['inquired']}")
        path.write_text("\n".join(lines) + "\n")
        return path


def refreshed_by_difference(caplog: pytest.LogCaptureFixture) -> bool:
    return "rollups refreshed by difference" in caplog.text


def test_daily_loads_refreshed_by_difference_end_as_a_refresh_from_scratch(tmp_path, caplog):
    store = StoreFactory(nurture_window_days=7, churn_window_days=20)
    shop = Shop()
    history = [shop.order(FIRST_DAY + timedelta(days=i % DAYS)) for i in range(700)]
    # Buyers of one order in the last days: nurtured still when the bases stop.
    history += [shop.order(FIRST_DAY + timedelta(days=DAYS - 1 - k % 4), customer=f"once{k}") for k in range(12)]
    assert load(store, shop.write(tmp_path / "history.csv", sorted(history))).status == UploadStatus.LOADED
    # As if the last refresh had run the day after the last order: the bases
    # stop there, and the next load has the days since to fill for everyone.
    CustomerBaseDaily.objects.filter(store=store, date__gt=FIRST_DAY + timedelta(days=DAYS)).delete()
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    for n in range(4):
        rng = shop.rng
        caplog.clear()
        recent = [i for i in shop.orders if shop.orders[i]["day"] >= last - timedelta(days=1)]
        for order_id in rng.sample(recent, 12):
            shop.orders[order_id]["status"] = rng.choice(["paid", "refunded", "closed"])
        moved = rng.choice(recent)
        shop.orders[moved]["customer"] = rng.choice(["c3", "", f"newcomer-{n}"])
        last += timedelta(days=1)
        fresh = [shop.order(last) for _ in range(15)] + [shop.order(last, customer=f"new-{n}")]
        back_dated = shop.order(last - timedelta(days=15 + n), customer="c7")  # a late export of an old order
        upload = load(store, shop.write(tmp_path / f"day{n}.csv", [*recent, *fresh, back_dated]))
        assert upload.status == UploadStatus.LOADED, upload.error
        assert refreshed_by_difference(caplog)
        by_difference = rollups(store)
        rollups_refresh(store=store)
        assert rollups(store) == by_difference, f"day {n}"
        assert all(by_difference)


def test_rollups_written_under_other_windows_are_computed_again_in_full(tmp_path, caplog):
    store = StoreFactory(nurture_window_days=7, churn_window_days=20)
    shop = Shop(seed=3)
    ids = [shop.order(FIRST_DAY + timedelta(days=i % 60)) for i in range(300)]
    load(store, shop.write(tmp_path / "history.csv", sorted(ids)))
    store.churn_window_days = 45  # a manager's edit: every stored base is stale
    store.save()
    caplog.clear()
    upload = load(store, shop.write(tmp_path / "more.csv", [shop.order(FIRST_DAY + timedelta(days=61))]))
    assert upload.status == UploadStatus.LOADED
    assert not refreshed_by_difference(caplog)
    after_load = rollups(store)
    rollups_refresh(store=store)
    assert rollups(store) == after_load
    # Written under the new windows: the next load is by difference again.
    caplog.clear()
    load(store, shop.write(tmp_path / "again.csv", [shop.order(FIRST_DAY + timedelta(days=62))]))
    assert refreshed_by_difference(caplog)


def test_a_load_touching_much_of_the_store_is_refreshed_in_full(tmp_path, caplog, monkeypatch):
    store = StoreFactory(nurture_window_days=7, churn_window_days=20)
    shop = Shop(seed=5)
    ids = [shop.order(FIRST_DAY + timedelta(days=i % 60)) for i in range(300)]
    load(store, shop.write(tmp_path / "history.csv", sorted(ids)))
    monkeypatch.setattr(delta, "SMALL", 10)
    for order_id in ids[::2]:
        shop.orders[order_id]["status"] = "closed"
    caplog.clear()
    load(store, shop.write(tmp_path / "recount.csv", sorted(ids)))
    assert not refreshed_by_difference(caplog)
    after_load = rollups(store)
    rollups_refresh(store=store)
    assert rollups(store) == after_load
