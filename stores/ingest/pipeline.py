"""From a file on disk to validated rows in a stager, with a rejection report.

The real tables are not touched here: a stager only holds rows (PostgreSQL:
a temporary table; SQLite: frames in memory) until the loader applies them in
one transaction, so a refused file leaves the database as it was.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.utils.translation import gettext as _

from stores.ingest import reader
from stores.ingest.channels import resolver
from stores.ingest.conflicts import OrderConflicts
from stores.ingest.conventions import ConventionChanged, Conventions
from stores.ingest.duplicates import DuplicateFinder
from stores.ingest.errors import IngestError, NeedsMappingError
from stores.ingest.formats import FORMATS, Format, best_score, detect, mapped_format
from stores.ingest.formats.base import CHECK_FIELDS, ORDER_FIELDS, REQUIRED
from stores.ingest.validate import REPORT_COLUMNS, Context, validate_orders, validate_traffic
from stores.ingest.whole_orders import WholeOrders
from stores.memory import release_memory
from stores.models import DateOrder

DEFAULT_MAX_BAD_SHARE = 0.05
# Channel names no rule knew that an upload keeps (the most used).
UNKNOWN_CHANNELS_KEPT = 50
# The columns whose 05/03/2025 may be either order (normalise.times.day_month_first),
# which a store's date order decides when the file does not: order times and
# traffic days (validate._days).
DATE_COLUMNS = ("placed_at", "paid_at", "date")
logger = logging.getLogger(__name__)


class Stager(Protocol):
    # True when an order listed again after its rows were staged fails the
    # load (the first import's unique key; it is then read the staged way):
    # exact duplicate lines are then looked for among the open order's rows
    # and the chunk's only, and memory does not grow with the file.
    catches_repeated_orders: bool

    def stage(self, kind: str, frame: pd.DataFrame) -> None: ...

    def drop_held(self, order_ids: set[str]) -> pd.DataFrame:
        """Take back rows of these orders staged but not written yet (the
        last chunk's last order); their row_no and order_id."""
        ...

    def reset(self) -> None:
        """Forget what was staged: the file is read again from the top."""


@dataclass
class ReadResult:
    kind: str
    format_key: str
    columns: list[str]
    rows_read: int = 0
    rows_rejected: int = 0
    rows_staged: int = 0
    mapping: dict[str, str] = field(default_factory=dict)
    # Dates such as 05/03/2025 (a DateOrder value, or ""): the order the file
    # itself showed, and the order its ambiguous dates were read by when it
    # showed none ("" when it had none, or showed its order).
    date_order_settled: str = ""
    date_order_assumed: str = ""
    # Channel names no rule knew, loaded as other: the most used, with their rows.
    unknown_channels: dict[str, int] = field(default_factory=dict)


def _date_orders(conventions: Conventions) -> tuple[str, str]:
    """(the order the file settled, the order ambiguous dates were read by without it)."""
    used = [conventions.columns[c] for c in DATE_COLUMNS if c in conventions.columns]
    settled = {c.settled for c in used if c.settled is not None}
    assumed: set[bool] = set().union(*(c.assumed for c in used if c.settled is None))
    return _date_order(settled), _date_order(assumed)


def _date_order(ways: set[bool]) -> str:
    """One way as a DateOrder; "" for none, or for both (columns or cells
    that disagree say nothing one can keep)."""
    return DateOrder.of(ways.pop()).value if len(ways) == 1 else ""


class ReportWriter:
    """Rejected rows, appended to a CSV file as they are found."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("w", newline="", encoding="utf-8-sig")
        self._writer = csv.writer(self._fh)
        self._writer.writerow(REPORT_COLUMNS)

    def reset(self) -> None:
        """Start the report again (the file is read again from the top)."""
        self._fh.seek(0)
        self._fh.truncate()
        self._writer.writerow(REPORT_COLUMNS)
        self.lines = 0

    def add(self, report: pd.DataFrame) -> None:
        if len(report):
            report = report.sort_values("row", kind="stable")
            self._writer.writerows(report[REPORT_COLUMNS].itertuples(index=False, name=None))
            self.lines += len(report)

    def flush(self) -> None:
        """Everything found so far on disk, for the page that serves the report."""
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def choose_format(
    header: list[str],
    *,
    kind: str | None,
    format_key: str,
    mapping: Mapping[str, str] | None,
    saved_mapping: Callable[[list[str]], Mapping[str, str] | None],
) -> Format:
    if mapping:
        if kind is None:
            raise IngestError(_("Say whether the file holds orders or traffic."))
        missing = [source for source in mapping.values() if source and source not in header]
        if missing:
            raise IngestError(
                _("The mapped columns %(cols)s are not in this file.") % {"cols": ", ".join(missing)}
            )
        absent = [c for c in REQUIRED[kind] if not mapping.get(c)]
        if absent:
            raise IngestError(_("Map a column to %(cols)s.") % {"cols": ", ".join(absent)})
        return mapped_format(kind=kind, mapping=mapping)
    fmt = detect(header, kind=kind, key=format_key)
    if fmt is not None:
        return fmt
    if format_key != "auto":
        raise IngestError(
            _("The file's header does not look like the %(format)s format.") % {"format": format_key},
            code="wrong_format",
        )
    other_kind = detect(header)
    if other_kind is not None:
        wrong_kind = (
            _("This is an orders file (%(label)s), not a traffic file.")
            if other_kind.kind == "orders"
            else _("This is a traffic file (%(label)s), not an orders file.")
        )
        raise IngestError(wrong_kind % {"label": other_kind.label}, code="wrong_kind")
    if kind is not None:
        saved = saved_mapping(header)
        if saved:
            return mapped_format(kind=kind, mapping=saved)
    raise NeedsMappingError(
        _("The columns of this file match no known export: map them to ours."), columns=header
    )


def fill_order_fields(canon: pd.DataFrame, carry: pd.DataFrame | None) -> pd.DataFrame:
    """Give every line its order's fields where only the first line has them.

    A line takes its group's first-line value (never another order's), and
    ``carry`` (the previous chunk's last line) continues an order across chunks.
    """
    order_id = canon["order_id"]
    ids = pa.array(order_id, from_pandas=True)
    same = np.zeros(len(canon), dtype=bool)  # the line continues the order above it
    if len(canon) > 1:
        same[1:] = np.asarray(pc.fill_null(pc.equal(ids[1:], ids[:-1]), False))
    if carry is not None and len(canon):
        first, before = order_id.iloc[0], carry["order_id"].iloc[0]
        same[0] = bool(pd.notna(first) and pd.notna(before) and first == before)
    if not same.any():
        return canon
    # starts[i]: the position of line i's first line; -1 is the carried line.
    positions = np.arange(len(canon))
    starts = np.maximum.accumulate(np.where(same, -1, positions))
    filled = {}
    for col in ORDER_FIELDS + CHECK_FIELDS:
        if col == "order_id":
            continue
        values = canon[col]
        missing = values.isna().to_numpy()
        present = ~missing
        head_present = present[np.maximum(starts, 0)]
        if carry is not None:
            head_present = np.where(starts < 0, bool(pd.notna(carry[col].iloc[0])), head_present)
        fill = missing & same & head_present
        if not fill.any():
            continue
        taken = values.iloc[np.maximum(starts, 0)]
        taken.index = values.index
        if carry is not None and (starts < 0).any():
            taken = taken.where(starts >= 0, carry[col].iloc[0])
        filled[col] = values.where(~fill, taken)
    if not filled:
        return canon
    return canon.assign(**filled)


def _read_pass(
    chunks: Iterator[reader.Chunk], *, fmt: Format, resolved: dict[str, str], ctx: Context,
    stager: Stager, report: ReportWriter, progress: Callable[[int, int], None], total: int,
    result: ReadResult, bad_rows: list[reader.BadRow],
) -> None:
    """One pass over the file's chunks: validate each and stage the good rows.
    Each chunk's rejections are written together, in row order, with the rows
    the reader could not split that came before it (``bad_rows``, counted by
    the caller)."""
    validate = validate_orders if fmt.kind == "orders" else validate_traffic
    reported_bad = 0
    forgetting = fmt.kind == "orders" and stager.catches_repeated_orders
    duplicates = DuplicateFinder(forgetting=forgetting)
    open_order = _OpenOrder()
    conflicts = OrderConflicts(resolved) if fmt.kind == "orders" else None
    whole_orders = WholeOrders() if fmt.kind == "orders" else None
    carry: pd.DataFrame | None = None
    for chunk in chunks:
        raw = chunk.frame
        row_no = chunk.row_no
        raw.index = pd.RangeIndex(len(raw))
        result.rows_read += len(raw)
        first = duplicates.first_rows(chunk.table if chunk.table is not None else raw, row_no)
        is_dup = first > 0
        found = [_unsplit(bad_rows[reported_bad:])]
        reported_bad = len(bad_rows)
        if is_dup.any():
            found.append(
                pd.DataFrame(
                    {
                        "row": row_no[is_dup],
                        "column": "",
                        "reason": [_("exact duplicate of row %(row)d") % {"row": r} for r in first[is_dup]],
                        "value": "",
                    }
                )
            )
        canon = fmt.to_canonical(raw, resolved)
        # Rows the format drops (Sycm's totals of the details under them) are
        # not data: not counted as read, so read = loaded + rejected.
        result.rows_read -= len(raw) - len(canon)
        if fmt.kind == "orders" and fmt.order_fields_on_first_line:
            canon = fill_order_fields(canon, carry)
            carry = canon.iloc[[-1]] if len(canon) else carry
        if is_dup.any():
            canon = canon[~is_dup[canon.index.to_numpy()]]
        rows = pd.Series(row_no[canon.index.to_numpy()], index=canon.index)
        good, rejected = validate(canon, rows, ctx)
        found.append(rejected)
        held_back = 0
        if whole_orders is not None:
            good, orphaned, held_back = whole_orders.check(canon, rows, good, stager)
            found.append(orphaned)
        if conflicts is not None:
            good, disagreeing = conflicts.check(good)
            found.append(disagreeing)
        nonempty = [f for f in found if len(f)]
        if nonempty:
            report.add(pd.concat(nonempty, ignore_index=True))
        result.rows_rejected += int(is_dup.sum()) + len(canon) - len(good) + held_back
        result.rows_staged -= held_back
        # The stager may still be copying the previous chunk on a thread:
        # progress is written on a connection of its own (upload_loading._Progress).
        progress(result.rows_read, max(total, result.rows_read))
        if len(good):
            stager.stage(fmt.kind, good)
            result.rows_staged += len(good)
        if forgetting:
            duplicates.forget_before(open_order.first_row(good))
    report.add(_unsplit(bad_rows[reported_bad:]))


class _OpenOrder:
    """The order the rows staged so far end on: its next lines may open the
    next chunk, so repeats of its rows are still looked for there."""

    def __init__(self) -> None:
        self._order_id: object = None
        self._first_row = 0

    def first_row(self, good: pd.DataFrame) -> int:
        """The first row of the order ``good`` (the chunk's staged rows) ends on."""
        if len(good):
            ids = good["order_id"].to_numpy()
            same = ids == ids[-1]
            if not same.all():
                self._first_row = int(good["row_no"].iloc[len(ids) - int(np.argmin(same[::-1]))])
            elif ids[-1] != self._order_id:  # the chunk is one order, begun in it
                self._first_row = int(good["row_no"].iloc[0])
            self._order_id = ids[-1]
        return self._first_row


def _unsplit(bad_rows: list[reader.BadRow]) -> pd.DataFrame:
    """The rows the reader could not split, as report rows."""
    return pd.DataFrame(
        {"row": [b.row_no or 0 for b in bad_rows], "column": "", "reason": [b.reason for b in bad_rows], "value": ""},
        columns=REPORT_COLUMNS,
    )


def read_and_stage(
    *,
    path: Path,
    tz: str,
    kind: str | None,
    format_key: str = "auto",
    mapping: Mapping[str, str] | None = None,
    saved_mapping: Callable[[list[str]], Mapping[str, str] | None] = lambda header: None,
    channel_table: Mapping[str, str] | None = None,
    traffic_date: date | None = None,
    currency: str | None = None,
    date_order: str = "",
    file_name: str = "",
    stager: Stager,
    report: ReportWriter,
    progress: Callable[[int, int], None] = lambda done, total: None,
    max_bad_share: float = DEFAULT_MAX_BAD_SHARE,
    block_bytes: int = reader.DEFAULT_BLOCK_BYTES,
) -> ReadResult:
    """Read the file at ``path`` into ``stager``. ``date_order`` (the store's
    DateOrder, or "") reads dates such as 05/03/2025 when the file does not
    show its order; a file that shows it is read its own way."""
    info = reader.sniff(path, score=best_score)
    fmt = choose_format(
        info.columns, kind=kind, format_key=format_key, mapping=mapping, saved_mapping=saved_mapping
    )
    resolved = fmt.resolve(info.columns)
    result = ReadResult(
        kind=fmt.kind, format_key=fmt.key, columns=info.columns,
        mapping=dict(mapping) if mapping else {},
    )
    if fmt.kind == "traffic" and "date" not in resolved and traffic_date is None:
        dates = set(reader.date_from_name(file_name or path.name))
        if len(dates) != 1:
            raise IngestError(
                _(
                    "This traffic export has no date column, and its file name does not name "
                    "one day: give the date on the upload form (or --date)."
                ),
                code="no_date",
            )
        traffic_date = date.fromisoformat(dates.pop())
    ctx = Context(
        tz=tz,
        resolved=resolved,
        resolve_channel=resolver(channel_table or {}),
        date_format=fmt.date_format,
        traffic_date=traffic_date,
        currency=currency,
        conventions=Conventions(defaults=dict.fromkeys(DATE_COLUMNS, DateOrder(date_order).day_first)),
    )
    total = max(info.rows_estimate, 0)
    # Read again from the top when a column's way of writing dates or amounts
    # turns out other than what its first chunks were read as (conventions.py);
    # each time settles a column, so this ends.
    while True:
        result.rows_read = result.rows_rejected = result.rows_staged = 0
        ctx.unknown_channels.clear()
        bad_rows: list[reader.BadRow] = []
        chunks = reader.iter_chunks(info, block_bytes=block_bytes, bad_rows=bad_rows)
        try:
            _read_pass(chunks, fmt=fmt, resolved=resolved, ctx=ctx, stager=stager, report=report,
                       progress=progress, total=total, result=result, bad_rows=bad_rows)
        except ConventionChanged as changed:
            chunks.close()
            logger.info("reading %s again: column %s settled another way", path.name, changed.column)
            stager.reset()
            report.reset()
            continue
        break
    # The chunks' buffers back to the system: the load's next steps (its
    # rollups) need the memory, and the allocators keep what they freed.
    release_memory()
    result.date_order_settled, result.date_order_assumed = _date_orders(ctx.conventions)
    result.unknown_channels = dict(ctx.unknown_channels.most_common(UNKNOWN_CHANNELS_KEPT))
    result.rows_read += len(bad_rows)
    result.rows_rejected += len(bad_rows)
    if result.rows_read == 0:
        raise IngestError(_("The file has a header but no rows."), code="empty")
    share = result.rows_rejected / result.rows_read
    if share > max_bad_share or result.rows_staged == 0:
        raise IngestError(
            _(
                "%(bad)d of %(total)d rows (%(share).1f%%) were rejected, more than the %(limit).0f%% "
                "allowed: nothing was loaded. Download the rejected rows to see why."
            )
            % {"bad": result.rows_rejected, "total": result.rows_read, "share": share * 100, "limit": max_bad_share * 100},
            code="too_many_bad_rows",
            rows_read=result.rows_read,
            rows_rejected=result.rows_rejected,
        )
    return result


__all__ = ["FORMATS", "ReadResult", "ReportWriter", "Stager", "read_and_stage"]
