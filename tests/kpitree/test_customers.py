"""RFM, lifecycle states and cohorts on small stores counted by hand."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from kpitree import charts
from kpitree.customers import (
    cohort_retention,
    lifecycle_counts,
    rfm_grid,
    rfm_summary_table,
    rfm_table,
    segment_customers,
)
from stores.models import Customer, Store
from stores.rollups import rollups_refresh
from tests.kpitree.builders import buy, make_store

pytestmark = pytest.mark.django_db
AS_OF = date(2025, 4, 1)


@pytest.fixture
def crm_store(db: None) -> Store:
    store = make_store(slug="crm", timezone="Asia/Shanghai", nurture_window_days=10,
                         churn_window_days=30)
    buy(store, "P1", date(2025, 3, 10), "30")
    buy(store, "P1", date(2025, 3, 20), "50")
    buy(store, "P1", date(2025, 3, 31), "100", hour=23)  # still Mar 31 locally
    buy(store, "P1", date(2025, 4, 1), "999")  # on as_of: not before it
    buy(store, "P2", date(2025, 3, 25), "500")
    buy(store, "P3", date(2025, 3, 1), "20")
    buy(store, "P3", date(2025, 3, 5), "20")
    buy(store, "P4", date(2025, 1, 1), "1000")
    buy(store, "P5", date(2025, 2, 20), "10")
    buy(store, "P6", date(2025, 3, 30), "70", paid=False)  # never paid: not a customer yet
    buy(store, None, date(2025, 3, 30), "70")  # a guest: nobody to market to
    return store


def test_rfm_table_against_hand_numbers(crm_store):
    table = rfm_table(store=crm_store, as_of=AS_OF).set_index("external_id")
    assert sorted(table.index) == ["P1", "P2", "P3", "P4", "P5"]
    got = {k: (r.recency_days, r.frequency, r.monetary, r.r_score, r.f_score, r.m_score,
               r.segment, r.lifecycle) for k, r in table.iterrows()}
    assert got == {
        # Frequency in bands: 1, 2, 3, 4-5, 6+ orders score 1..5.
        "P1": (1, 3, 180.0, 5, 3, 3, "loyal", "active"),
        "P2": (7, 1, 500.0, 4, 1, 4, "new", "new"),
        "P3": (27, 2, 40.0, 3, 2, 2, "needs_attention", "at_risk"),
        "P4": (90, 1, 1000.0, 1, 1, 5, "lost", "churned"),
        "P5": (40, 1, 10.0, 2, 1, 1, "hibernating", "churned"),
    }
    assert table.loc["P1", "rfm_score"] == "533"


def test_lifecycle_counts_grid_and_export(crm_store):
    assert lifecycle_counts(store=crm_store, as_of=AS_OF) == {
        "new": 1, "active": 1, "at_risk": 1, "churned": 2}
    grid = rfm_grid(store=crm_store, as_of=AS_OF)
    assert len(grid) == 25 and grid["customers"].sum() == 5
    cell = grid[(grid["r_score"] == 5) & (grid["f_score"] == 3)].iloc[0]
    assert (cell["customers"], cell["monetary"]) == (1, 180.0)
    churned = list(segment_customers(store=crm_store, as_of=AS_OF, lifecycle="churned"))
    assert sorted(r["external_id"] for r in churned) == ["P4", "P5"]
    assert isinstance(churned[0]["frequency"], int)
    with pytest.raises(ValueError, match="unknown segment"):
        list(segment_customers(store=crm_store, as_of=AS_OF, segment="vip"))
    with pytest.raises(ValueError, match="unknown segment"):
        list(segment_customers(store=crm_store, as_of=AS_OF, segment="churned"))


def test_new_and_at_risk_mean_the_rfm_segment_or_the_lifecycle_state_as_asked(crm_store):
    """Both vocabularies have "new" and "at_risk": each export gives exactly
    the customers its own table counts, whatever the other says of them."""
    table = rfm_table(store=crm_store, as_of=AS_OF)
    counts = lifecycle_counts(store=crm_store, as_of=AS_OF)
    for name in ("new", "at_risk"):
        by_state = {r["external_id"] for r in segment_customers(store=crm_store, as_of=AS_OF, lifecycle=name)}
        by_segment = {r["external_id"] for r in segment_customers(store=crm_store, as_of=AS_OF, segment=name)}
        assert by_state == set(table.loc[table["lifecycle"] == name, "external_id"])
        assert by_segment == set(table.loc[table["segment"] == name, "external_id"])
        assert len(by_state) == counts[name]
    both = list(segment_customers(store=crm_store, as_of=AS_OF, segment="hibernating", lifecycle="churned"))
    assert [r["external_id"] for r in both] == ["P5"]


def test_empty_store_has_an_empty_table(db):
    store = make_store(slug="empty")
    assert rfm_table(store=store, as_of=AS_OF).empty
    assert lifecycle_counts(store=store, as_of=AS_OF) == {
        "new": 0, "active": 0, "at_risk": 0, "churned": 0}


def test_cohort_retention(db):
    store = make_store(slug="cohorts")
    for who in ("J1", "J2", "J3", "J4"):
        buy(store, who, date(2025, 1, 5), "10")
    buy(store, "J1", date(2025, 2, 7), "10")
    buy(store, "J1", date(2025, 3, 7), "10")
    buy(store, "J2", date(2025, 3, 9), "10")
    buy(store, "F1", date(2025, 2, 3), "10")
    buy(store, "F2", date(2025, 2, 3), "10")
    buy(store, "F2", date(2025, 3, 3), "10")
    buy(store, "old", date(2024, 12, 3), "10")
    buy(store, "old", date(2025, 1, 3), "10")  # a December customer: not a January cohort
    table = cohort_retention(store=store, start=date(2025, 1, 1), end=date(2025, 3, 31))
    assert list(table.index) == [date(2025, 1, 1), date(2025, 2, 1)]
    assert list(table["customers"]) == [4, 2]
    assert list(table.loc[date(2025, 1, 1), ["m0", "m1", "m2"]]) == [1.0, 0.25, 0.5]
    feb = table.loc[date(2025, 2, 1)]
    assert (feb["m0"], feb["m1"]) == (1.0, 0.5) and math.isnan(feb["m2"])


def test_rfm_after_the_last_order_reads_the_lifetime_columns_with_the_same_result(crm_store):
    rollups_refresh(store=crm_store)
    after_everything = date(2025, 4, 2)
    quick = rfm_table(store=crm_store, as_of=after_everything)
    grouped = rfm_table(store=crm_store, as_of=after_everything, from_orders=True)
    assert len(quick) == 5
    pd.testing.assert_frame_equal(quick, grouped)


def test_lifetime_columns_read_out_of_id_order_stay_with_their_customers(crm_store):
    """The customer rows come back in no set order (by the (store, external id)
    index on a small table, as stored on a big one, where an update moves a
    row): the recency read from them must follow them through the sort by id."""
    rollups_refresh(store=crm_store)
    # The first customer now comes last by external id, and its row version too.
    Customer.objects.filter(store=crm_store, external_id="P1").update(external_id="P9")
    after_everything = date(2025, 4, 2)
    quick = rfm_table(store=crm_store, as_of=after_everything)
    grouped = rfm_table(store=crm_store, as_of=after_everything, from_orders=True)
    assert quick.set_index("external_id").loc["P9", "recency_days"] == 1  # bought on Apr 1
    pd.testing.assert_frame_equal(quick, grouped)


def test_external_ids_that_look_like_numbers_stay_as_given(db):
    store = make_store(slug="digits")
    buy(store, "007", date(2025, 3, 1), "10")
    buy(store, "12345678901234567890123", date(2025, 3, 2), "10")
    rollups_refresh(store=store)
    table = rfm_table(store=store, as_of=AS_OF)
    assert sorted(table["external_id"]) == ["007", "12345678901234567890123"]
    (state,) = set(table["lifecycle"])
    exported = segment_customers(store=store, as_of=AS_OF, lifecycle=state)
    assert sorted(r["external_id"] for r in exported) == ["007", "12345678901234567890123"]


def test_the_summary_table_sums_up_like_the_full_one(crm_store):
    """The customers page counts from the table without text (categoricals):
    the same counts, spend, cells and flows as from ``rfm_table``."""
    full, lean = rfm_table(store=crm_store, as_of=AS_OF), rfm_summary_table(store=crm_store, as_of=AS_OF)
    for column in ("segment", "lifecycle"):
        assert charts.segment_summary(lean, column) == charts.segment_summary(full, column)
    assert list(charts.segment_summary(lean, "segment")) == sorted(set(full["segment"]))
    pd.testing.assert_frame_equal(charts.rfm_cells(lean), charts.rfm_cells(full))
    earlier = date(2025, 3, 22)  # P2 and P1's last order had not happened: prospect / at_risk
    flows = charts.lifecycle_flows(rfm_summary_table(store=crm_store, as_of=earlier), lean)
    assert flows == charts.lifecycle_flows(rfm_table(store=crm_store, as_of=earlier), full)
    assert ("prospect", "new", 1) in flows
    assert flows == sorted(flows)
