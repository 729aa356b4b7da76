"""Writes for setting stores up: create a store, grant a user a role in it.

Used by the ``create_store`` and ``add_member`` commands and by the demo
seeder. Invalid input raises ``ValidationError`` with a message meant for
the person at the terminal.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.utils import translation

from stores.models import (
    Department,
    DepartmentKind,
    Membership,
    Platform,
    Role,
    Store,
    validate_currency,
    validate_timezone,
)

#: The store fields an operator sets on the command line.
STORE_FIELDS = ("name", "platform", "currency", "timezone", "category")
#: The store fields its rollups are computed under (``rollups_basis``).
ROLLUP_FIELDS = ("timezone", "nurture_window_days", "churn_window_days")


@dataclass(frozen=True)
class MembershipGrant:
    membership: Membership
    created: bool  # a new membership (False: an existing one, role possibly changed)
    previous_role: str | None  # the role before, when it changed
    user_created: bool
    password: str | None  # the generated password of a new user, to be shown once


def _store_values(
    *, name: str, platform: str, currency: str, timezone: str, category: str
) -> dict[str, str]:
    """Normalise and validate the settable fields; raises ValidationError
    naming every bad value at once."""
    values = {
        "name": name.strip(),
        "platform": platform.strip().lower(),
        "currency": currency.strip().upper(),
        "timezone": timezone.strip(),
        "category": category.strip(),
    }
    errors: list[str] = []
    if not values["name"]:
        errors.append("The name must not be empty.")
    if values["platform"] not in Platform.values:
        errors.append(
            f"Unknown platform {platform!r}; choose one of: {', '.join(Platform.values)}."
        )
    for field, validator in (("currency", validate_currency), ("timezone", validate_timezone)):
        try:
            validator(values[field])
        except ValidationError as exc:
            errors.extend(f"{field} {values[field]!r}: {message}" for message in exc.messages)
    if errors:
        raise ValidationError(errors)
    return values


def departments_ensure(*, store: Store) -> list[Department]:
    """The four departments every store has (DOMAIN.md section 2), named in
    English whatever language the caller runs in."""
    with translation.override("en"):
        return [
            Department.objects.get_or_create(
                store=store, kind=kind, defaults={"name": str(kind.label)}
            )[0]
            for kind in DepartmentKind
        ]


@transaction.atomic
def store_create(
    *,
    slug: str,
    name: str,
    platform: str,
    currency: str = "CNY",
    timezone: str = "Asia/Shanghai",
    category: str = "",
) -> tuple[Store, bool]:
    """The store with that slug, created with these values if it does not
    exist yet (True), or as it is (False; see ``store_update``). Either way
    it gets its four departments."""
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise ValidationError(f"Slug {slug!r}: letters, digits, '-' and '_' only.") from exc
    values = _store_values(
        name=name, platform=platform, currency=currency, timezone=timezone, category=category
    )
    store, created = Store.objects.get_or_create(slug=slug, defaults=values)
    departments_ensure(store=store)
    return store, created


@transaction.atomic
def store_update(
    *,
    store: Store,
    name: str,
    platform: str,
    currency: str,
    timezone: str,
    category: str,
) -> dict[str, tuple[str, str]]:
    """Set the store's fields; returns what changed as {field: (old, new)}."""
    values = _store_values(
        name=name, platform=platform, currency=currency, timezone=timezone, category=category
    )
    changes = {
        field: (getattr(store, field), value)
        for field, value in values.items()
        if getattr(store, field) != value
    }
    if changes:
        for field, (_old, new) in changes.items():
            setattr(store, field, new)
        store.save(update_fields=list(changes))
    return changes


def password_generate() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def membership_grant(*, store: Store, username: str, role: str) -> MembershipGrant:
    """Give the user ``role`` in the store, creating the user (with a
    generated password) or updating an existing membership's role."""
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}; choose one of: {', '.join(Role.values)}.")
    username = username.strip()
    if not username:
        raise ValidationError("The username must not be empty.")
    user_model = get_user_model()
    password: str | None = None
    user: AbstractBaseUser | None = user_model.objects.filter(
        **{user_model.USERNAME_FIELD: username}
    ).first()
    user_created = user is None
    if user is None:
        password = password_generate()
        user = user_model.objects.create_user(username=username, password=password)
    membership, created = Membership.objects.get_or_create(
        user=user, store=store, defaults={"role": role}
    )
    previous_role = None
    if not created and membership.role != role:
        previous_role = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
    return MembershipGrant(
        membership=membership,
        created=created,
        previous_role=previous_role,
        user_created=user_created,
        password=password,
    )


def store_settings_changed(*, store: Store, fields: Iterable[str]) -> bool:
    """After a store's settings were saved: when its time zone or windows
    changed, its rollups are computed again once the transaction commits
    (until then they hold the old days and segments). True when they will be."""
    if not set(fields) & set(ROLLUP_FIELDS):
        return False
    from stores.tasks import store_rollups_rebuild_task

    transaction.on_commit(partial(store_rollups_rebuild_task.delay, store.pk))
    return True


def store_rollups_rebuild(*, store_id: int) -> bool:
    """The store's rollups again in full, under its lock (a load waits)."""
    from stores.ingest import load_orm, load_postgres
    from stores.rollups import rollups_refresh
    from stores.upload_loading import is_postgres

    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return False
    with transaction.atomic():
        (load_postgres if is_postgres() else load_orm).lock_store(store)
        store.refresh_from_db()
        rollups_refresh(store=store)
    return True
