"""Pages and API: who may see, set and allocate; nobody touches another store's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from kpitree.engine import FUNNEL_TREE, identity_errors
from kpitree.models import Target
from kpitree.periods import grain_end, grain_start, store_today
from stores.models import Store
from stores.rollups.refresh import rollups_refresh
from tests.factories import OrderFactory, TrafficDailyFactory

PAGES = ("targets:targets", "targets:departments", "targets:allocate")


@pytest.fixture
def history(store: Store) -> None:
    """Sixty days of orders and traffic up to yesterday, so allocation has recent values."""
    today = store_today(store)
    for i in range(1, 61):
        day = today - dt.timedelta(days=i)
        for n in range(2):
            OrderFactory(store=store, amount=Decimal(90 + 10 * n + i % 7), items=1 + n,
                         placed_at=dt.datetime.combine(day, dt.time(12), tzinfo=store.tzinfo))
        TrafficDailyFactory(store=store, date=day, channel="search", visitors=50 + i % 5)
        TrafficDailyFactory(store=store, date=day, channel="ads", visitors=20)
    rollups_refresh(store=store)


def _period(store: Store) -> dict[str, str]:
    today = store_today(store)
    return {"period_start": grain_start(today, "month").isoformat(),
            "period_end": grain_end(today, "month").isoformat()}


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_anonymous_is_sent_to_sign_in(store: Store, page: str) -> None:
    response = _client(None).get(reverse(page, args=[store.slug]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_outsider_gets_404_on_every_page(store: Store, outsider: User, page: str) -> None:
    assert _client(outsider).get(reverse(page, args=[store.slug])).status_code == 404
    assert _client(outsider).post(reverse(page, args=[store.slug]), {}).status_code in (404, 405)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["operator", "analyst"])
def test_operators_and_analysts_see_targets_but_cannot_set_or_allocate(
    store: Store, who: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    client = _client(user)
    page = client.get(reverse("targets:targets", args=[store.slug]))
    assert page.status_code == 200
    assert b'id="set-target"' not in page.content
    assert client.get(reverse("targets:departments", args=[store.slug])).status_code == 200
    data = {"metric": "funnel:sales", "value": "1000", **_period(store)}
    assert client.post(reverse("targets:targets", args=[store.slug]), data).status_code == 403
    assert client.get(reverse("targets:allocate", args=[store.slug])).status_code == 403
    assert client.post(reverse("targets:allocate", args=[store.slug]),
                       {"sales_target": "1000", "rule": "equal", **_period(store)}).status_code == 403
    assert not Target.objects.exists()


@pytest.mark.django_db
def test_manager_sets_a_target_through_the_page(store: Store, manager: User) -> None:
    client = _client(manager)
    assert b'id="set-target"' in client.get(reverse("targets:targets", args=[store.slug])).content
    data = {"metric": "funnel:conversion", "value": "0.04", **_period(store)}
    response = client.post(reverse("targets:targets", args=[store.slug]), data)
    assert response.status_code == 302
    target = Target.objects.get(store=store)
    assert (target.metric, target.value, target.set_by) == ("conversion", Decimal("0.04"), manager)


@pytest.mark.django_db
def test_manager_allocates_adjusts_and_saves_through_the_page(
    store: Store, manager: User, history: None
) -> None:
    client = _client(manager)
    url = reverse("targets:allocate", args=[store.slug])
    base = {"sales_target": "50000", "rule": "equal", **_period(store)}
    proposed = client.post(url, base | {"action": "propose"})
    assert proposed.status_code == 200 and b'name="node_visitors"' in proposed.content
    form = {"action": "save", "node_payment_rate": "0.97", "fix_payment_rate": "1"}
    response = client.post(url, base | form)
    assert response.status_code == 302
    saved = {t.metric: float(t.value) for t in Target.objects.filter(store=store)}
    assert saved["payment_rate"] == pytest.approx(0.97)
    assert saved["sales"] == 50000
    assert set(saved) >= {"visitors", "conversion", "frequency", "order_value", "item_price"}
    assert identity_errors(FUNNEL_TREE, saved, rel_tol=1e-6) == []


@pytest.mark.django_db
def test_api_lists_targets_with_attainment_for_members_only(
    store: Store, operator: User, outsider: User, manager: User
) -> None:
    Target.objects.create(store=store, metric="sales", department="", value=Decimal("100"),
                          period_start=dt.date(2025, 3, 1), period_end=dt.date(2025, 3, 31))
    api = APIClient()
    url = reverse("targets:api_targets", args=[store.slug])
    api.force_authenticate(operator)
    body = api.get(url).json()
    assert [row["target"]["metric"] for row in body] == ["sales"]
    assert body[0]["status"] in ("green", "amber", "red")
    api.force_authenticate(outsider)
    assert api.get(url).status_code == 404
    assert api.post(url, {"metric": "sales", "value": "1", **_period(store)}).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["operator", "analyst"])
def test_api_refuses_non_managers_posting(store: Store, who: str, request: pytest.FixtureRequest) -> None:
    api = APIClient()
    api.force_authenticate(request.getfixturevalue(who))
    url = reverse("targets:api_targets", args=[store.slug])
    assert api.post(url, {"metric": "sales", "value": "1", **_period(store)}).status_code == 403
    allocate = reverse("targets:api_allocate", args=[store.slug])
    assert api.post(allocate, {"sales_target": 1000, **_period(store)},
                    format="json").status_code == 403
    assert not Target.objects.exists()


@pytest.mark.django_db
def test_api_manager_sets_a_target_and_history_is_kept(store: Store, manager: User) -> None:
    api = APIClient()
    api.force_authenticate(manager)
    url = reverse("targets:api_targets", args=[store.slug])
    for value in ("100", "120"):
        response = api.post(url, {"metric": "visitors", "value": value, **_period(store)}, format="json")
        assert response.status_code == 201
    assert response.json()["department"] == "promotion"
    rows = Target.objects.filter(store=store, metric="visitors")
    assert rows.count() == 2 and rows.filter(superseded_at__isnull=True).get().value == Decimal("120")
    assert api.post(url, {"metric": "nonsense", "value": "1", **_period(store)},
                    format="json").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("rule", ["equal", "volatility", "headroom"])
def test_api_allocate_returns_every_node_and_the_identity_holds(
    store: Store, manager: User, history: None, rule: str
) -> None:
    api = APIClient()
    api.force_authenticate(manager)
    url = reverse("targets:api_allocate", args=[store.slug])
    body = api.post(url, {"sales_target": 80000, "rule": rule, "fixed": {"visitors_ads": 900},
                          **_period(store)}, format="json").json()
    targets = body["targets"]
    assert set(targets) == set(FUNNEL_TREE.nodes)
    assert targets["sales"] == 80000 and targets["visitors_ads"] == 900
    assert identity_errors(FUNNEL_TREE, targets, rel_tol=1e-9) == []
    assert not Target.objects.exists()  # proposing saves nothing


@pytest.mark.django_db
def test_api_allocate_for_another_store_is_404(store: Store, other_store: Store, manager: User) -> None:
    api = APIClient()
    api.force_authenticate(manager)
    url = reverse("targets:api_allocate", args=[other_store.slug])
    assert api.post(url, {"sales_target": 1, **_period(store)}, format="json").status_code == 404
