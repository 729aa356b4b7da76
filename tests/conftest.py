"""Shared fixtures: named users, stores, and the service guards.

Tests that need the real PostgreSQL server, Redis, or a Celery worker carry
the ``postgres``, ``redis`` or ``worker`` marker. With CI set an unreachable
service fails the run (config/settings/test.py); otherwise those tests skip
with how to start the service.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import translation

from stores.models import Role, Store
from tests.factories import MembershipFactory, StoreFactory, UserFactory

SHARED_DATA = Path(settings.BASE_DIR).parent / "shared" / "data"
HOW_TO_POSTGRES = (
    "PostgreSQL is not reachable at 127.0.0.1:5432. Start it with "
    "'pg_ctlcluster 15 main start' (or set DATABASE_URL)."
)
CHROMIUM = "/usr/bin/chromium"
IN_CI = os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}
HOW_TO_REDIS = (
    "Redis is not reachable at 127.0.0.1:6379. Start it with "
    "'redis-server --daemonize yes' (or set REDIS_URL)."
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    pg = getattr(settings, "POSTGRES_AVAILABLE", False)
    redis = getattr(settings, "REDIS_AVAILABLE", False)
    for item in items:
        if not pg and ("postgres" in item.keywords or "worker" in item.keywords):
            item.add_marker(pytest.mark.skip(reason=HOW_TO_POSTGRES))
        if not redis and ("redis" in item.keywords or "worker" in item.keywords):
            item.add_marker(pytest.mark.skip(reason=HOW_TO_REDIS))


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the site's default language: the test client's
    requests activate theirs and Django leaves it active in the thread, and
    uploads record the language they were made in."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def shared_data() -> Path:
    """The real data folder beside the repo; skips where it is absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def store(db: None) -> Store:
    return StoreFactory(slug="north", name="North Tea House", timezone="Asia/Shanghai")


@pytest.fixture
def other_store(db: None) -> Store:
    return StoreFactory(slug="south", name="South Tea House", timezone="Europe/London")


def _member(store: Store, role: str, username: str) -> User:
    user = UserFactory(username=username)
    MembershipFactory(user=user, store=store, role=role)
    return user


@pytest.fixture
def operator(store: Store) -> User:
    return _member(store, Role.OPERATOR, "olivia-operator")


@pytest.fixture
def manager(store: Store) -> User:
    return _member(store, Role.MANAGER, "mark-manager")


@pytest.fixture
def analyst(store: Store) -> User:
    return _member(store, Role.ANALYST, "anna-analyst")


@pytest.fixture
def outsider(other_store: Store) -> User:
    """A member of another store only."""
    return _member(other_store, Role.MANAGER, "oscar-outsider")


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Debian's headless Chromium through Playwright (never a downloaded browser).
    Skips without it, except in CI, where a missing browser fails the run."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: run 'make browser-deps' (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    playwright_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # made by the fixtures and the live server are still plain synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
