"""The API documents itself, and its docs page loads nothing from other hosts."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_schema_lists_every_endpoint(client, operator):
    client.force_login(operator)
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/stores/", "/api/stores/{slug}/diagnosis/", "/api/stores/{slug}/uploads/",
                 "/api/uploads/{upload_id}/", "/api/stores/{slug}/targets/allocate/"):
        assert path in schema


def test_docs_page_uses_only_our_static_files(client, operator):
    client.force_login(operator)
    page = client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any("swagger-ui" in src for src in sources)
    assert all(src.startswith("/") for src in sources), sources
