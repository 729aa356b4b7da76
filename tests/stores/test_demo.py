"""The demo data: deterministic, shaped like a real tea business, and
written to the database by ``seed_demo`` as generated."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import pandas as pd
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Sum

from stores.demo import DEMO_STORES, StoreData, demo_generate
from stores.demo.profiles import WINDOW_DAYS
from stores.models import (
    PAID_STATUSES,
    Department,
    Order,
    OrderLine,
    SalesDaily,
    Store,
    TrafficDaily,
)
from stores.selectors import store_list_for_user

END = date(2025, 6, 30)  # the window then holds Double 11 2024 and 618 of 2024 and 2025
PAID = [str(status) for status in PAID_STATUSES]
WEAK = "anxi-oolong"


@pytest.fixture(scope="module")
def demo() -> dict[str, StoreData]:
    return demo_generate(seed=11, end=END, scale=0.2)


def digest(rows: list[tuple[str, str, str, str, str]]) -> str:
    return hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()


def generated_rows(data: dict[str, StoreData]) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            slug,
            row.external_id,
            str(Decimal(int(row.amount)).scaleb(-2)),
            row.status,
            row.placed_at.isoformat(),
        )
        for slug, store in data.items()
        for row in store.orders.itertuples()
    ]


def paid_orders(data: StoreData) -> pd.DataFrame:
    return data.orders[data.orders["status"].isin(PAID)].sort_values("placed_at")


def customer_day_payment_rate(data: StoreData) -> float:
    """Paying customers over placing customers, per day (DOMAIN.md stage 4)."""
    orders = data.orders.assign(paid=data.orders["status"].isin(PAID))
    return float(orders.groupby(["customer", "local_date"])["paid"].max().mean())


# --- determinism -----------------------------------------------------------


def test_same_seed_and_end_give_the_same_orders():
    first = demo_generate(seed=5, end=END, scale=0.05)
    second = demo_generate(seed=5, end=END, scale=0.05)
    assert digest(generated_rows(first)) == digest(generated_rows(second))
    assert all(first[slug].traffic.equals(second[slug].traffic) for slug in first)
    assert all(first[slug].lines.equals(second[slug].lines) for slug in first)


def test_another_seed_gives_other_orders():
    first = demo_generate(seed=5, end=END, scale=0.05)
    other = demo_generate(seed=6, end=END, scale=0.05)
    assert digest(generated_rows(first)) != digest(generated_rows(other))


def test_scale_sizes_the_data(demo):
    small = demo_generate(seed=11, end=END, scale=0.1)
    ratio = sum(len(d.orders) for d in demo.values()) / sum(len(d.orders) for d in small.values())
    assert 1.7 < ratio < 2.3


# --- the stores and their calendar ---------------------------------------


def test_orders_cover_18_months_ending_on_the_end_date_and_the_new_store_is_young(demo):
    for profile in DEMO_STORES:
        dates = demo[profile.slug].orders["local_date"]
        assert dates.max() == END
        if profile.age_days is None:
            assert dates.min() <= END - timedelta(days=WINDOW_DAYS - 10)
        else:
            assert dates.min() >= END - timedelta(days=profile.age_days)
    new_store = demo["jasmine-lane"].orders["local_date"]
    assert 100 <= (END - new_store.min()).days <= 140


def test_mature_stores_are_bigger_than_growing_and_new_ones(demo):
    size = {p.slug: len(demo[p.slug].orders) for p in DEMO_STORES}
    stage = {p.slug: p.stage for p in DEMO_STORES}
    smallest_mature = min(n for slug, n in size.items() if stage[slug] == "mature")
    assert all(n < smallest_mature for slug, n in size.items() if stage[slug] != "mature")
    assert size["jasmine-lane"] == min(size.values())


def test_stores_are_peers_in_one_category_on_more_than_one_platform():
    assert {p.category for p in DEMO_STORES} == {"tea"}
    assert len({p.platform for p in DEMO_STORES}) >= 2


def test_double_11_is_the_peak_of_november(demo):
    for slug in ("west-lake-tea", "puer-garden", "wuyi-rock-tea", "anxi-oolong"):
        paid = paid_orders(demo[slug])
        november = paid[paid["local_date"].between(date(2024, 11, 1), date(2024, 11, 30))]
        by_day = november.groupby("local_date")["amount"].sum()
        assert by_day.idxmax() == date(2024, 11, 11), slug
        assert by_day[date(2024, 11, 11)] >= 3 * by_day.median(), slug


def test_618_stands_out_in_june(demo):
    paid = paid_orders(demo["west-lake-tea"])
    june = paid[paid["local_date"].between(date(2024, 6, 1), date(2024, 6, 30))]
    by_day = june.groupby("local_date")["amount"].sum()
    assert by_day[date(2024, 6, 18)] >= 1.8 * by_day.median()


def test_orders_are_placed_more_by_day_than_at_night(demo):
    orders = demo["west-lake-tea"].orders
    local_hour = orders["placed_at"].dt.tz_convert("Asia/Shanghai").dt.hour
    ordinary = orders["local_date"] != date(2024, 11, 11)
    hours = local_hour[ordinary].value_counts()
    assert hours.loc[[20, 21]].sum() > 5 * hours.loc[[3, 4]].sum()


# --- orders -----------------------------------------------------------------


def test_placed_at_is_aware_and_in_the_local_date(demo):
    for profile in DEMO_STORES:
        orders = demo[profile.slug].orders
        assert str(orders["placed_at"].dt.tz) == "UTC"
        local = orders["placed_at"].dt.tz_convert(profile.timezone).dt.date
        assert (local == orders["local_date"]).all()


def test_unpaid_share_is_realistic_and_unpaid_orders_have_no_payment(demo):
    orders = pd.concat(d.orders for d in demo.values())
    unpaid = ~orders["status"].isin(PAID)
    assert 0.05 <= unpaid.mean() <= 0.20
    assert set(orders.loc[unpaid, "status"]) <= {"unpaid", "closed"}
    assert orders.loc[unpaid, "paid_at"].isna().all()
    assert (orders.loc[~unpaid, "paid_at"] >= orders.loc[~unpaid, "placed_at"]).all()


def test_refunds_are_a_small_share_of_paid_orders_and_at_most_the_amount(demo):
    orders = pd.concat(d.orders for d in demo.values())
    paid = orders[orders["status"].isin(PAID)]
    refunded = paid["status"] == "refunded"
    assert 0.01 <= refunded.mean() <= 0.08
    assert (paid.loc[refunded, "refunded"] > 0).all()
    assert (paid.loc[refunded, "refunded"] <= paid.loc[refunded, "amount"]).all()
    assert (paid.loc[~refunded, "refunded"] == 0).all()


def test_the_weak_store_has_a_clearly_lower_payment_rate(demo):
    rates = {slug: customer_day_payment_rate(data) for slug, data in demo.items()}
    peers = [rate for slug, rate in rates.items() if slug != WEAK]
    assert rates[WEAK] < 0.7
    assert min(peers) > 0.82
    assert min(peers) - rates[WEAK] > 0.15


def test_lines_add_up_to_the_order(demo):
    for data in demo.values():
        lines = data.lines
        assert (lines["amount"] == lines["unit_price"] * lines["quantity"]).all()
        per_order = lines.groupby("order").agg(
            amount=("amount", "sum"), items=("quantity", "sum"), n=("line_no", "size")
        )
        assert len(per_order) == len(data.orders)
        assert (per_order["amount"].to_numpy() == data.orders["amount"].to_numpy()).all()
        assert (per_order["items"].to_numpy() == data.orders["items"].to_numpy()).all()
        assert per_order["n"].between(1, 3).all()
        assert not lines.duplicated(["order", "sku"]).any()


def test_external_ids_are_unique_per_store(demo):
    for data in demo.values():
        assert data.orders["external_id"].is_unique
        assert len(set(data.customers)) == len(data.customers)


# --- customers: a persistent population --------------------------------------


def test_repeat_customers_bring_a_plausible_share_of_paid_orders(demo):
    paid = pd.concat(paid_orders(d).assign(store=slug) for slug, d in demo.items())
    paid = paid.sort_values("placed_at")
    repeat = paid.groupby(["store", "customer"]).cumcount() > 0
    assert 0.20 <= repeat.mean() <= 0.50
    # The young store has had less time to build a returning base.
    young = paid["store"] == "jasmine-lane"
    assert repeat[young].mean() < repeat[paid["store"] == "west-lake-tea"].mean()


def test_every_lifecycle_path_occurs(demo):
    """Second purchases within the nurture window, regulars, and customers
    who come back after lapsing past the churn window."""
    paid = paid_orders(demo["west-lake-tea"])
    days = pd.to_datetime(paid["local_date"])
    gaps = days.groupby(paid["customer"]).diff().dt.days.dropna()
    per_customer = paid.groupby("customer").size()
    assert (gaps <= 90).mean() > 0.5  # most returns are within the nurture window
    assert (gaps > 180).sum() > 20  # won back
    assert (per_customer >= 3).sum() > 100  # active regulars
    assert (per_customer == 1).mean() > 0.5  # most buy once


# --- traffic ------------------------------------------------------------------


def test_traffic_has_every_channel_every_day_with_weekly_rhythm(demo):
    for profile in DEMO_STORES:
        traffic = demo[profile.slug].traffic
        per_channel = traffic.groupby("channel")["visitors"].sum()
        assert set(per_channel.index) == {"search", "cps", "community", "ads", "activity", "other"}
        assert (per_channel > 0).all()
        assert (traffic.groupby("date").size() == 6).all()
        first_order = demo[profile.slug].orders["local_date"].min()
        assert traffic["date"].min() <= first_order
    daily = demo["west-lake-tea"].traffic.groupby("date")["visitors"].sum()
    weekday = pd.to_datetime(pd.Series(daily.index)).dt.day_of_week.to_numpy()
    assert daily[weekday == 6].median() > daily[weekday == 4].median()


def test_inquiries_agree_with_the_orders(demo):
    for data in demo.values():
        inquired = data.orders[data.orders["inquired"]]
        placers = inquired.groupby(["local_date", "channel"])["customer"].nunique()
        traffic = data.traffic.set_index(["date", "channel"])
        expected = placers.reindex(traffic.index, fill_value=0)
        assert (traffic["inquiry_placers"] == expected).all()
        assert (traffic["inquirers"] >= traffic["inquiry_placers"]).all()
        all_placers = data.orders.groupby(["local_date", "channel"])["customer"].nunique()
        assert (traffic["visitors"] >= all_placers.reindex(traffic.index, fill_value=0)).all()
        share = data.orders["inquired"].mean()
        assert 0.1 < share < 0.5


# --- the command, end to end --------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_writes_what_the_generator_makes_and_scopes_the_logins():
    out = StringIO()
    call_command("seed_demo", "--seed", "3", "--end", "2025-06-30", "--scale", "0.05", stdout=out)

    expected = demo_generate(seed=3, end=END, scale=0.05)
    stored = [
        (slug, ext, str(amount), status, placed.isoformat())
        for slug, ext, amount, status, placed in Order.objects.values_list(
            "store__slug", "external_id", "amount", "status", "placed_at"
        )
    ]
    assert digest(stored) == digest(generated_rows(expected))
    assert OrderLine.objects.count() == sum(len(d.lines) for d in expected.values())
    assert TrafficDaily.objects.count() == sum(len(d.traffic) for d in expected.values())
    assert Store.objects.count() == 5
    assert Department.objects.count() == 20
    assert set(Department.objects.values_list("name", flat=True)) == {
        "Promotion",
        "Storefront pages",
        "Customer service",
        "Database marketing (CRM)",
    }
    # Line amounts add up to the order amount in the database too.
    order = Order.objects.order_by("pk").first()
    assert order is not None
    assert order.lines.aggregate(total=Sum("amount"))["total"] == order.amount
    # The rollups were refreshed.
    assert SalesDaily.objects.filter(store__slug="west-lake-tea").exists()

    visible = {
        username: set(
            store_list_for_user(user=User.objects.get(username=username)).values_list(
                "slug", flat=True
            )
        )
        for username in ("admin", "operator", "manager", "analyst")
    }
    assert len(visible["admin"]) == len(visible["manager"]) == 5
    assert len(visible["operator"]) == 3
    assert len(visible["analyst"]) == 2
    assert User.objects.get(username="operator").check_password("demo-pass-2025")
    text = out.getvalue()
    for username in ("admin", "operator", "manager", "analyst"):
        assert username in text
    assert "demo-pass-2025" in text


def _rollups_match_orders() -> bool:
    """Every demo store's rollups count exactly its orders: rebuilt in full, never doubled."""
    for store in Store.objects.all():
        placed = SalesDaily.objects.filter(store=store).aggregate(n=Sum("orders_placed"))["n"]
        if placed != store.orders.count() or placed == 0:
            return False
    return True


@pytest.mark.django_db
def test_seed_demo_if_empty_keeps_existing_data_and_a_rerun_replaces_it():
    call_command(
        "seed_demo", "--seed", "3", "--end", "2025-06-30", "--scale", "0.02", stdout=StringIO()
    )
    before = Order.objects.count()
    assert _rollups_match_orders()
    last_pk = Order.objects.order_by("-pk").values_list("pk", flat=True).first()
    rollup_rows = SalesDaily.objects.count()

    out = StringIO()
    call_command("seed_demo", "--if-empty", "--seed", "4", "--scale", "0.02", stdout=out)
    assert "already exist" in out.getvalue()
    assert "demo-pass-2025" in out.getvalue()
    assert Order.objects.count() == before
    assert Order.objects.order_by("-pk").values_list("pk", flat=True).first() == last_pk
    assert SalesDaily.objects.count() == rollup_rows  # nothing was rebuilt

    call_command(
        "seed_demo", "--seed", "3", "--end", "2025-06-30", "--scale", "0.02", stdout=StringIO()
    )
    assert Order.objects.count() == before  # replaced, not doubled
    assert Store.objects.count() == 5
    assert _rollups_match_orders()
    assert not Order.objects.filter(pk__lte=last_pk).exists()  # the old rows are gone
