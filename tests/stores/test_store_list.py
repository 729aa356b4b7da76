from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_store_list_requires_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_store_list_shows_only_member_stores(client, operator, store, other_store):
    client.force_login(operator)
    response = client.get(reverse("stores:store_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert store.name in body
    assert other_store.name not in body


def test_superuser_sees_every_store(client, store, other_store):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    body = client.get(reverse("home")).content.decode()
    assert store.name in body and other_store.name in body


def test_member_of_two_stores_sees_both_once(client, store, other_store):
    user = UserFactory(username="both")
    MembershipFactory(user=user, store=store, role="operator")
    MembershipFactory(user=user, store=other_store, role="analyst")
    StoreFactory(slug="third", name="Third Shop")
    client.force_login(user)
    body = client.get(reverse("home")).content.decode()
    assert body.count('data-store="north"') == 1
    assert body.count('data-store="south"') == 1
    assert "Third Shop" not in body


def test_login_page_answers(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"password" in response.content.lower()
