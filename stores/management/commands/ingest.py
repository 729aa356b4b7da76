"""Load an export file from the command line through the same task as the web."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from stores.ingest.formats import FORMAT_CHOICES
from stores.models import Store, UploadKind
from stores.services import upload_create
from stores.tasks import upload_process_task
from stores.upload_loading import UploadResult


class Command(BaseCommand):
    help = "Ingest an orders or traffic export for a store; prints a final JSON line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--store", required=True, help="the store's slug")
        parser.add_argument("--kind", choices=UploadKind.values, default=UploadKind.ORDERS)
        parser.add_argument("--format", choices=FORMAT_CHOICES, default="auto")
        parser.add_argument("--date", type=date.fromisoformat, default=None,
                            help="the day of a traffic export that has no date column")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        store = Store.objects.filter(slug=options["store"]).first()
        if store is None:
            raise CommandError(f"no store with slug {options['store']!r}")
        with path.open("rb") as fh:
            upload = upload_create(
                store=store, file=File(fh), name=path.name, kind=options["kind"],
                format_key=options["format"], traffic_date=options["date"], enqueue=False,
            )
        # The same task the web enqueues, run here and now.
        try:
            result = upload_process_task.apply(args=(upload.pk,)).get()
        except Exception as exc:
            # The task has marked the upload failed (or left it to a retry):
            # the final line still says where it stands, then the command fails.
            upload.refresh_from_db()
            self._report(UploadResult.of(upload).as_dict())
            raise CommandError(f"upload {upload.pk} stopped: {type(exc).__name__}: {exc}") from exc
        self._report(result)

    def _report(self, result: dict[str, Any]) -> None:
        line = {
            key: result[key] for key in (
                "upload_id", "status", "rows_read", "rows_loaded", "rows_rejected",
                "orders_created", "orders_updated", "duplicate_file",
            )
        }
        if result["error"]:
            line["error"] = result["error"]
        if result.get("date_order_assumed"):
            # Dates such as 05/03/2025 were read this way, the file not saying which.
            line["date_order"] = result["date_order_assumed"]
        if result.get("kind") == UploadKind.TRAFFIC:
            # Day-and-channel figures added, and those replacing a file loaded before.
            line["traffic_created"] = result["traffic_created"]
            line["traffic_updated"] = result["traffic_updated"]
        self.stdout.write(json.dumps(line))
