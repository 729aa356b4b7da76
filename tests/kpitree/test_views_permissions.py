"""Every diagnosis page and the export: members see it, outsiders get a 404
(as if the store did not exist), anonymous visitors are sent to sign in."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGES = [
    ("kpitree:diagnosis", {}),
    ("kpitree:customers", {}),
    ("kpitree:node_detail", {"tree": "funnel", "key": "sales"}),
    ("kpitree:customers_export", {}),
]


def _url(name: str, kwargs: dict[str, str], slug: str) -> str:
    url = reverse(name, kwargs={"slug": slug, **kwargs})
    return url + "?segment=new" if name.endswith("export") else url


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_member_is_served(client, operator, store, name, kwargs):
    client.force_login(operator)
    response = client.get(_url(name, kwargs, store.slug))
    assert response.status_code == 200


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_outsider_gets_404(client, outsider, store, name, kwargs):
    client.force_login(outsider)
    response = client.get(_url(name, kwargs, store.slug))
    assert response.status_code == 404


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_unknown_store_is_the_same_404(client, operator, name, kwargs):
    client.force_login(operator)
    assert client.get(_url(name, kwargs, "no-such-store")).status_code == 404


@pytest.mark.parametrize(("name", "kwargs"), [*PAGES, ("home", None)])
def test_anonymous_is_sent_to_sign_in(client, store, name, kwargs):
    url = reverse("home") if kwargs is None else _url(name, kwargs, store.slug)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_overview_lists_only_member_stores(client, operator, store, other_store):
    client.force_login(operator)
    body = client.get(reverse("home")).content.decode()
    assert f'data-store="{store.slug}"' in body
    assert f'data-store="{other_store.slug}"' not in body
    assert other_store.name not in body


def test_outsider_cannot_open_a_node_of_their_own_tree_on_another_store(client, outsider, store, other_store):
    client.force_login(outsider)
    own = reverse("kpitree:node_detail", kwargs={"slug": other_store.slug, "tree": "funnel", "key": "sales"})
    theirs = reverse("kpitree:node_detail", kwargs={"slug": store.slug, "tree": "funnel", "key": "sales"})
    assert client.get(own).status_code == 200
    assert client.get(theirs).status_code == 404


def test_unknown_node_is_404(client, operator, store):
    client.force_login(operator)
    url = reverse("kpitree:node_detail", kwargs={"slug": store.slug, "tree": "funnel", "key": "nope"})
    assert client.get(url).status_code == 404
