"""Reads about stores and who may see them. Every view scopes through here."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404

from stores.models import Membership, Role, Store

AnyUser = User | AnonymousUser


def store_list_for_user(*, user: AnyUser) -> QuerySet[Store]:
    """The stores a user may see: their memberships, or all for a superuser."""
    if not user.is_authenticated or not user.is_active:
        return Store.objects.none()
    if getattr(user, "is_superuser", False):
        return Store.objects.all()
    return Store.objects.filter(memberships__user=user).distinct()


def user_role_in_store(*, user: AnyUser, store: Store) -> str | None:
    """The user's role in the store; superusers count as managers."""
    if not user.is_authenticated:
        return None
    if getattr(user, "is_superuser", False):
        return Role.MANAGER
    membership = Membership.objects.filter(user=user, store=store).only("role").first()
    return membership.role if membership else None


def store_get_for_user(
    *, user: AnyUser, slug: str, roles: Iterable[str] | None = None
) -> Store:
    """The store with that slug if the user may see it (and holds one of
    ``roles`` when given). Raises Http404 otherwise, so that a store the user
    is not a member of is indistinguishable from one that does not exist."""
    store = store_list_for_user(user=user).filter(slug=slug).first()
    if store is None:
        raise Http404("No such store")
    if roles is not None:
        role = user_role_in_store(user=user, store=store)
        if role not in set(roles):
            raise Http404("No such store")
    return store
