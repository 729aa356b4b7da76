"""Changing a store's time zone or windows in the admin computes its rollups
again: every stored row was counted under the old ones."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from stores.models import CustomerBaseDaily, Store
from stores.rollups.refresh import rollups_basis
from tests.factories import StoreFactory, UserFactory
from tests.stores.ingest.helpers import load
from tests.stores.test_rollup_delta import Shop, rollups

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def change_form(client, store: Store, **changes) -> dict[str, object]:
    """The admin's change form of ``store`` as the page fills it, with ``changes``."""
    response = client.get(f"/admin/stores/store/{store.pk}/change/")
    form = response.context["adminform"].form
    data: dict[str, object] = {name: form[name].value() for name in form.fields}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
        for each in inline.formset.initial_forms:
            data.update({each.add_prefix(name): each[name].value() for name in each.fields})
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(("field", "value", "recomputed"), [
    ("churn_window_days", 45, True), ("timezone", "Europe/London", True), ("name", "Renamed", False),
])
def test_a_changed_zone_or_window_computes_the_rollups_again(client, tmp_path, field, value, recomputed):
    store = StoreFactory(nurture_window_days=7, churn_window_days=20)
    shop = Shop(seed=9)
    ids = [shop.order(date(2026, 3, 1) + timedelta(days=i % 50)) for i in range(300)]
    load(store, shop.write(tmp_path / "orders.csv", sorted(ids)))
    before = rollups(store)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(f"/admin/stores/store/{store.pk}/change/", change_form(client, store, **{field: value}))
    assert response.status_code == 302, response.content.decode()[:2000]
    store.refresh_from_db()
    assert getattr(store, field) == value
    after = rollups(store)
    assert (after != before) == recomputed
    assert store.rollups_basis == rollups_basis(store)  # written under the settings now
    if recomputed:
        Store.objects.filter(pk=store.pk).update(rollups_basis="")  # forces the next refresh to start over
        CustomerBaseDaily.objects.filter(store=store).delete()
        from stores.rollups import rollups_refresh

        rollups_refresh(store=Store.objects.get(pk=store.pk))
        assert rollups(store) == after
