"""A store's table of platform channel names onto our channels, as its
analysts and managers read and edit it on the channels page.

The store's rows win over the built-in rules (``ingest.channels``); a name
neither knows is loaded as other, and the upload keeps it
(``Upload.unknown_channels``) so that the page can offer it for mapping. A
change applies to the files loaded after it; a file loaded before may be
uploaded again to take it (``Store.channels_changed_at``: it is then not a
duplicate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from stores.ingest.channels import resolver
from stores.models import ChannelMapping, Store, Upload, UploadStatus


def channel_table(*, store: Store) -> dict[str, str]:
    """The store's own rows: platform name -> our channel."""
    return dict(ChannelMapping.objects.filter(store=store).values_list("source_name", "channel"))


@dataclass(frozen=True)
class UnknownName:
    name: str
    rows: int  # in the store's loaded uploads
    upload_id: int  # the latest upload that had it
    upload_name: str
    seen: datetime | None


def channel_names_unknown(*, store: Store) -> list[UnknownName]:
    """The names the store's loaded uploads met that no rule knew, and that
    neither its table nor the rules know now: most rows first."""
    resolve = resolver(channel_table(store=store))
    rows: dict[str, int] = {}
    latest: dict[str, tuple[int, str, datetime | None]] = {}
    uploads = (
        Upload.objects.filter(store=store, status=UploadStatus.LOADED)
        .order_by("finished_at", "pk")
        .values_list("pk", "original_name", "finished_at", "unknown_channels")
    )
    for pk, name, finished, unknown in uploads:
        for channel_name, count in (unknown or {}).items():
            rows[channel_name] = rows.get(channel_name, 0) + int(count)
            latest[channel_name] = (pk, name, finished)
    return sorted(
        (UnknownName(n, count, *latest[n]) for n, count in rows.items() if resolve(n) is None),
        key=lambda u: (-u.rows, u.name),
    )


def channel_table_save(*, store: Store, channels: Mapping[str, str]) -> int:
    """Give each platform name its channel; "" drops the store's row, so the
    rules decide again. Returns how many rows changed."""
    changed = 0
    with transaction.atomic():
        current = channel_table(store=store)
        for raw_name, channel in channels.items():
            name = raw_name.strip()
            if not name or current.get(name, "") == channel:
                continue
            if channel:
                ChannelMapping.objects.update_or_create(store=store, source_name=name, defaults={"channel": channel})
            else:
                ChannelMapping.objects.filter(store=store, source_name=name).delete()
            changed += 1
        if changed:
            Store.objects.filter(pk=store.pk).update(channels_changed_at=timezone.now())
    return changed
