"""The KPI JSON API: scoping, parameters, shapes, schema."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from kpitree.customers import LIFECYCLE_STATES, RFM_SEGMENTS, rfm_table
from stores.models import Store
from stores.rollups import rollups_refresh
from tests.kpitree.builders import buy, visit

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/stores/north/tree/?tree=funnel&start=2025-03-01&end=2025-03-31",
    "/api/stores/north/diagnosis/?start=2025-03-01&end=2025-03-31&base=previous",
    "/api/stores/north/customers/rfm/?as_of=2025-04-01",
    "/api/stores/north/cohorts/?start=2025-01-01&end=2025-03-31",
]


@pytest.fixture
def filled(store):
    buy(store, "a", date(2025, 2, 10), "40")
    buy(store, "a", date(2025, 3, 10), "60")
    buy(store, "b", date(2025, 3, 12), "90", 3)
    visit(store, date(2025, 3, 10), "search", 100, inquirers=10)
    rollups_refresh(store=store, since=None)
    return store


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", ENDPOINTS)
def test_outsider_gets_404_on_every_store_endpoint(filled, outsider, url):
    assert login(outsider).get(url).status_code == 404


@pytest.mark.parametrize("url", [*ENDPOINTS, "/api/stores/", "/api/ping/"])
def test_anonymous_is_refused(filled, url):
    assert Client().get(url).status_code in (401, 403)


def test_store_list_shows_only_memberships(filled, other_store, operator):
    body = login(operator).get("/api/stores/").json()
    assert [s["slug"] for s in body] == ["north"]


def test_diagnosis_payload(filled, operator):
    body = login(operator).get(ENDPOINTS[1]).json()
    assert body["sales"] == 150.0 and body["base_sales"] == 40.0
    assert body["exact_from"] == "rollups" and body["period"]["label"] == "2025-03"
    assert body["base_period"] == {"start": "2025-02-01", "end": "2025-02-28", "days": 28,
                                   "label": "2025-02"}
    funnel = body["trees"]["funnel"]
    assert funnel["nodes"][0]["key"] == "sales" and len(body["scorecard"]) == 7
    assert {"actions_en", "actions_zh", "sales_at_stake"} <= set(body["scorecard"][3])


def test_custom_range_is_labelled_from_orders(filled, operator):
    body = login(operator).get(
        "/api/stores/north/diagnosis/?start=2025-03-05&end=2025-03-20").json()
    assert body["exact_from"] == "orders" and body["sales"] == 150.0


def test_tree_and_rfm_and_cohorts(filled, manager):
    client = login(manager)
    tree = client.get("/api/stores/north/tree/?tree=customer&start=2025-03-01&end=2025-03-31")
    nodes = {n["key"]: n for n in tree.json()["nodes"]}
    assert nodes["buyers_nurtured"]["value"] == 1.0 and nodes["buyers_new"]["value"] == 1.0
    rfm = client.get("/api/stores/north/customers/rfm/?as_of=2025-04-01&page_size=1").json()
    assert rfm["count"] == 2 and len(rfm["results"]) == 1 and rfm["next"].endswith("page=2")
    assert rfm["previous"] is None
    table = rfm_table(store=Store.objects.get(slug="north"), as_of=date(2025, 4, 1))
    for query, column in (("segment", "segment"), ("lifecycle", "lifecycle")):
        for name in ("new", "at_risk", "champions", "churned"):
            response = client.get(f"/api/stores/north/customers/rfm/?as_of=2025-04-01&{query}={name}")
            valid = name in (RFM_SEGMENTS if query == "segment" else LIFECYCLE_STATES)
            assert response.status_code == (200 if valid else 400)
            if valid:
                expected = sorted(table.loc[table[column] == name, "external_id"])
                assert sorted(r["external_id"] for r in response.json()["results"]) == expected
    only_new = client.get("/api/stores/north/customers/rfm/?as_of=2025-04-01&lifecycle=new").json()
    assert [r["external_id"] for r in only_new["results"]] == ["b"]
    cohorts = client.get(ENDPOINTS[3]).json()["cohorts"]
    assert cohorts[0]["cohort"] == "2025-02-01" and cohorts[0]["retention"] == [1.0, 1.0, None]  # m2: not yet seen


@pytest.mark.parametrize("query", [
    "diagnosis/?start=2025-03-01",
    "diagnosis/?start=2025-03-31&end=2025-03-01",
    "diagnosis/?start=2025-02-30&end=2025-03-01",
    "diagnosis/?start=yesterday&end=2025-03-01",
    "diagnosis/?base=rivals",
    "diagnosis/?preset=custom",
    "diagnosis/?preset=next_week",
    "tree/?tree=product",
    "customers/rfm/?as_of=2025-13-01",
    "customers/rfm/?page=99",
    "customers/rfm/?page_size=5000",
    "cohorts/?start=2025-03-01",
])
def test_bad_parameters_are_400_with_a_reason(filled, operator, query):
    response = login(operator).get(f"/api/stores/north/{query}")
    assert response.status_code == 400
    assert response.json()


def test_presets_default_to_this_month(filled, operator):
    body = login(operator).get("/api/stores/north/diagnosis/").json()
    assert body["period"]["start"].endswith("-01")


def test_ping_and_schema(operator):
    client = login(operator)
    assert client.get("/api/ping/").json() == {"ok": True}
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ("/api/stores/", "/api/stores/{slug}/diagnosis/", "/api/stores/{slug}/tree/",
                 "/api/stores/{slug}/customers/rfm/", "/api/stores/{slug}/cohorts/",
                 "/api/ping/"):
        assert path in paths, path
    diagnosis = paths["/api/stores/{slug}/diagnosis/"]["get"]
    assert {"start", "end", "base"} <= {p["name"] for p in diagnosis["parameters"]}
