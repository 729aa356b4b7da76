"""The segment export: a CSV Excel opens safely, with only the store's customers."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from kpitree.views import csv_safe
from stores.rollups import rollups_refresh
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db

AS_OF = date(2025, 12, 1)  # 256 days after their only order: churned


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+86 138", "'+86 138"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("张三", "张三"),
        ("buyer-7", "buyer-7"),
        (None, ""),
        (12, "12"),
    ],
)
def test_formula_cells_are_neutralised(cell, expected):
    assert csv_safe(cell) == expected


def _export(client, store, **query: str) -> tuple[bytes, list[list[str]]]:
    url = reverse("kpitree:customers_export", kwargs={"slug": store.slug})
    response = client.get(url, {**query, "as_of": AS_OF.isoformat()})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    raw = b"".join(response.streaming_content)
    return raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_export_is_utf8_with_bom_and_neutralises_formulas(client, operator, store, other_store):
    evil = CustomerFactory(store=store, external_id="=cmd|' /C calc'!A0")
    chinese = CustomerFactory(store=store, external_id="茶友-001")
    for customer in (evil, chinese):
        OrderFactory(store=store, customer=customer, amount=Decimal("88.00"),
                     placed_at=datetime(2025, 3, 20, 4, 0, tzinfo=UTC))
    stranger = CustomerFactory(store=other_store, external_id="not-yours")
    OrderFactory(store=other_store, customer=stranger, placed_at=datetime(2025, 3, 20, 4, 0, tzinfo=UTC))
    for each in (store, other_store):  # as every load does
        rollups_refresh(store=each)
    client.force_login(operator)

    raw, rows = _export(client, store, lifecycle="churned")

    assert raw.startswith("\ufeff".encode())
    header, body = rows[0], rows[1:]
    assert header[:2] == ["customer_id", "external_id"]
    ids = sorted(row[1] for row in body)
    assert ids == sorted(["'=cmd|' /C calc'!A0", "茶友-001"])
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in body for cell in row)


def test_unknown_segment_is_404(client, operator, store):
    client.force_login(operator)
    url = reverse("kpitree:customers_export", kwargs={"slug": store.slug})
    assert client.get(url, {"segment": "everyone"}).status_code == 404
    assert client.get(url, {"segment": "churned"}).status_code == 404  # a lifecycle state
    assert client.get(url, {"lifecycle": "champions"}).status_code == 404  # an RFM segment
    assert client.get(url).status_code == 404


def test_every_export_link_on_the_customers_page_gives_the_customers_its_row_counts(
        client, operator, store):
    """The lifecycle table and the RFM table both have "new" and "at_risk"
    rows; each row's CSV link must export that row's customers."""

    today = date(2025, 6, 1)
    for i in range(30):
        customer = CustomerFactory(store=store)
        for k in range(1 + i % 3):
            OrderFactory(store=store, customer=customer, amount=Decimal(20 + 7 * i),
                         placed_at=datetime(2025, 5, 28, 2, 0, tzinfo=UTC) - timedelta(days=i * 9 + k * 3))
    rollups_refresh(store=store)
    client.force_login(operator)
    page = client.get(reverse("kpitree:customers", kwargs={"slug": store.slug}),
                      {"as_of": today.isoformat()}).content.decode()
    rows = re.findall(
        r'<tr data-(state|segment)="(\w+)"><td>[^<]*</td><td class="num">([\d,]+)</td>.*?'
        r'(?:<a href="([^"]+)"|</tr>)', page, flags=re.S)
    linked = [(kind, key, int(count.replace(",", "")), unescape(href)) for kind, key, count, href in rows if href]
    assert {kind for kind, *_ in linked} == {"state", "segment"}
    assert {"new", "at_risk"} & {key for kind, key, *_ in linked if kind == "state"}
    for kind, key, count, href in linked:
        assert (f"lifecycle={key}" if kind == "state" else f"segment={key}") in href
        body = b"".join(client.get(href).streaming_content).decode("utf-8-sig").splitlines()
        assert len(body) - 1 == count, (kind, key)
