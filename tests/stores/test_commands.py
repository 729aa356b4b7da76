"""create_store and add_member: idempotent, validating, and saying what they did."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from stores.models import Department, Membership, Role, Store
from stores.services_admin import membership_grant, store_create

pytestmark = pytest.mark.django_db

GREEN_LEAF = [
    "green-leaf",
    "--name", "Green Leaf",
    "--platform", "tmall",
    "--currency", "CNY",
    "--timezone", "Asia/Shanghai",
    "--category", "tea",
]  # fmt: skip


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- create_store -------------------------------------------------------------


def test_create_store_creates_the_store_and_its_four_departments():
    output = run("create_store", *GREEN_LEAF)
    store = Store.objects.get(slug="green-leaf")
    assert (store.name, store.platform, store.currency, store.timezone, store.category) == (
        "Green Leaf",
        "tmall",
        "CNY",
        "Asia/Shanghai",
        "tea",
    )
    assert set(store.departments.values_list("kind", flat=True)) == {
        "promotion",
        "storefront",
        "customer_service",
        "crm",
    }
    assert "Created" in output


def test_create_store_twice_with_the_same_values_changes_nothing():
    run("create_store", *GREEN_LEAF)
    output = run("create_store", *GREEN_LEAF)
    assert "already exists" in output
    assert Store.objects.filter(slug="green-leaf").count() == 1
    assert Department.objects.filter(store__slug="green-leaf").count() == 4


def test_create_store_with_other_values_updates_and_says_what_changed():
    run("create_store", *GREEN_LEAF)
    output = run(
        "create_store", "green-leaf", "--name", "Green Leaf Tea",
        "--platform", "jd", "--currency", "CNY", "--timezone", "Asia/Shanghai", "--category", "tea",
    )  # fmt: skip
    store = Store.objects.get(slug="green-leaf")
    assert store.name == "Green Leaf Tea"
    assert store.platform == "jd"
    assert "name" in output and "'Green Leaf' -> 'Green Leaf Tea'" in output
    assert "platform" in output and "'tmall' -> 'jd'" in output
    assert "currency" not in output  # unchanged fields are not reported


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--platform", "amazon", "Unknown platform"),
        ("--currency", "YUAN", "three-letter"),
        ("--currency", "C1Y", "three-letter"),
        ("--timezone", "Asia/Beijing", "not an IANA time zone"),
        ("--name", "  ", "name must not be empty"),
    ],
)
def test_create_store_rejects_bad_values_and_creates_nothing(option, value, message):
    args = list(GREEN_LEAF)
    args[args.index(option) + 1] = value
    with pytest.raises(CommandError, match=message):
        run("create_store", *args)
    assert not Store.objects.filter(slug="green-leaf").exists()


def test_create_store_rejects_a_bad_value_for_an_existing_store_and_keeps_it(store):
    with pytest.raises(CommandError, match="not an IANA time zone"):
        run(
            "create_store", store.slug, "--name", "Renamed", "--platform", "tmall",
            "--currency", "CNY", "--timezone", "Mars/Olympus",
        )  # fmt: skip
    store.refresh_from_db()
    assert store.name == "North Tea House"


def test_create_store_rejects_a_bad_slug():
    args = list(GREEN_LEAF)
    args[0] = "green leaf!"
    with pytest.raises(CommandError, match="Slug"):
        run("create_store", *args)


def test_store_create_normalises_case_of_platform_and_currency():
    store, created = store_create(
        slug="lower", name="Lower", platform="TMALL", currency="cny", timezone="Asia/Shanghai"
    )
    assert created
    assert (store.platform, store.currency) == ("tmall", "CNY")
    again, created_again = store_create(
        slug="lower", name="Lower", platform="tmall", currency="CNY", timezone="Asia/Shanghai"
    )
    assert again.pk == store.pk and not created_again


# --- add_member ---------------------------------------------------------------


def test_add_member_creates_a_user_and_prints_a_working_password_once(store):
    output = run("add_member", store.slug, "nina", "analyst")
    match = re.search(r"Password \(shown once, write it down\): (\S+)", output)
    assert match is not None
    user = User.objects.get(username="nina")
    assert user.check_password(match.group(1))
    assert Membership.objects.get(user=user, store=store).role == Role.ANALYST

    # A second store for the same user: no new password.
    other = Store.objects.create(slug="east", name="East", platform="tmall")
    output = run("add_member", other.slug, "nina", "operator")
    assert "Password" not in output
    assert user.memberships.count() == 2
    user.refresh_from_db()
    assert user.check_password(match.group(1))


def test_add_member_updates_the_role_of_an_existing_member(store, operator):
    output = run("add_member", store.slug, operator.username, "manager")
    assert Membership.objects.get(user=operator, store=store).role == Role.MANAGER
    assert "was operator" in output and "now manager" in output
    assert "Password" not in output
    assert Membership.objects.filter(user=operator).count() == 1


def test_add_member_with_the_same_role_again_changes_nothing(store, analyst):
    output = run("add_member", store.slug, analyst.username, "analyst")
    assert "already analyst" in output
    assert Membership.objects.get(user=analyst, store=store).role == Role.ANALYST


def test_add_member_rejects_an_unknown_store(db):
    with pytest.raises(CommandError, match="No store with slug 'nowhere'"):
        run("add_member", "nowhere", "nina", "analyst")
    assert not User.objects.filter(username="nina").exists()


def test_add_member_rejects_an_unknown_role_and_creates_no_user(store):
    with pytest.raises(CommandError, match="Unknown role 'owner'"):
        run("add_member", store.slug, "nina", "owner")
    assert not User.objects.filter(username="nina").exists()


def test_membership_grant_reports_the_previous_role(store, manager):
    grant = membership_grant(store=store, username=manager.username, role=Role.ANALYST)
    assert not grant.created and not grant.user_created
    assert grant.previous_role == Role.MANAGER
    assert grant.password is None
    with pytest.raises(ValidationError):
        membership_grant(store=store, username="", role=Role.ANALYST)
