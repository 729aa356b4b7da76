"""Reading an export in chunks of plain strings, so memory stays flat: CSV
through arrow on a read-ahead thread, workbooks through pandas; a row that
cannot be split is reported with its number instead of stopping the read."""

from __future__ import annotations

import contextlib
import csv
import queue
import re
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.utils.translation import gettext as _

from stores.ingest.errors import IngestError
from stores.ingest.reader.cells import clean_frame, clean_table
from stores.ingest.reader.sniff import XLS_MAGIC, FileInfo, file_magic, open_bytes, read_excel_raw

# About 30k order lines a chunk: peak memory grows with the chunk size, speed
# does not (bench/ingest.py at 1M lines: 4 MB chunks peak at 360 MB, 8 MB ones
# at 430 MB, in the same time).
DEFAULT_BLOCK_BYTES = 4 * 1024 * 1024

# Arrow parses blocks this size on the read-ahead thread, up to a chunk's
# worth ahead of us; a chunk gathers blocks until it holds DEFAULT_BLOCK_BYTES.
READ_BLOCK_BYTES = 1024 * 1024

# A row longer than a block stops arrow: the read starts again with blocks
# eight times larger, up to this (only for such files: memory grows with them).
MAX_READ_BLOCK_BYTES = 64 * 1024 * 1024


@dataclass
class Chunk:
    """Rows of a file as strings, and each row's number: the row a spreadsheet
    shows (a cell's line breaks do not start a new row; rows the reader
    skipped as malformed keep their numbers)."""

    frame: pd.DataFrame
    row_no: np.ndarray
    table: pa.Table | None = None  # the same cells in arrow, when read from CSV

    @property
    def first_row_no(self) -> int:
        return int(self.row_no[0]) if len(self.row_no) else 0


@dataclass
class BadRow:
    row_no: int | None
    reason: str


def iter_chunks(
    info: FileInfo, *, block_bytes: int = DEFAULT_BLOCK_BYTES, bad_rows: list[BadRow] | None = None
) -> Generator[Chunk, None, None]:
    """Yield the data rows in chunks of strings (missing cells are NA)."""
    if info.excel:
        raw = read_excel_raw(
            info.path,
            info.path.suffix.lower() == ".xls" or file_magic(info.path).startswith(XLS_MAGIC),
            sheet=info.sheet if info.sheet is not None else 0,
        )
        body = raw.iloc[info.header_row + 1 :].copy()
        body.columns = pd.Index(info.columns[: body.shape[1]] + [f"column_{i}" for i in range(len(info.columns), body.shape[1])])
        # Empty rows are no data; the rows after them keep their sheet numbers
        # (the raw frame's index counts from the sheet's first row).
        body = body.dropna(how="all")
        row_no = body.index.to_numpy(dtype=np.int64) + 1
        body = body.astype("str")
        body = body.where(body != "nan")
        yield Chunk(clean_frame(body.reset_index(drop=True)), row_no)
        return
    yield from _iter_csv(info, block_bytes=block_bytes, bad_rows=bad_rows)


def _all_null(table: pa.Table) -> pa.BooleanArray | None:
    """Which rows have no cell at all (None when there is none such)."""
    if table.num_rows == 0 or table.num_columns == 0:
        return None
    empty = pc.is_null(table.column(0))
    for column in table.columns[1:]:
        if not pc.any(empty).as_py():
            return None
        empty = pc.and_(empty, pc.is_null(column))
    if not pc.any(empty).as_py():
        return None
    return empty.combine_chunks() if isinstance(empty, pa.ChunkedArray) else empty


class _RowTooLong(Exception):
    """A row longer than arrow's blocks: the file is read again with larger ones."""

    def __init__(self, *, row_no: int, done: int) -> None:
        super().__init__(row_no)
        self.row_no = row_no  # the long row
        self.done = done  # the last row handed out before it


def _iter_csv(info: FileInfo, *, block_bytes: int, bad_rows: list[BadRow] | None) -> Iterator[Chunk]:
    read_block = min(block_bytes, READ_BLOCK_BYTES)
    done = 0
    while True:
        try:
            yield from _read_csv(info, block_bytes=block_bytes, read_block=read_block, bad_rows=bad_rows, after=done)
        except _RowTooLong as long_row:
            if read_block >= MAX_READ_BLOCK_BYTES:
                raise _cell_too_large(long_row.row_no, read_block) from long_row
            read_block = min(read_block * 8, MAX_READ_BLOCK_BYTES)
            done = long_row.done
            # The next pass reports the malformed rows after ``done`` again.
            if bad_rows is not None:
                bad_rows[:] = [b for b in bad_rows if b.row_no is None or b.row_no <= done]
            continue
        return


def _read_csv(
    info: FileInfo, *, block_bytes: int, read_block: int, bad_rows: list[BadRow] | None, after: int
) -> Iterator[Chunk]:
    """One pass over the file in blocks of ``read_block`` bytes, handing out
    the rows after row ``after`` (an earlier pass handed out the others)."""
    skip_lines = info.header_lines or info.header_row + 1
    first_row_no = info.header_row + 2
    # Arrow numbers a record by the lines it skipped plus the records after
    # them; ours count the records above the header instead of its lines.
    shift = info.header_row + 1 - skip_lines
    width = len(info.columns)
    # For each malformed row, how many good rows come before it: the good
    # rows after it move one number down.
    skipped_after: list[int] = []
    # Translated here: arrow calls on_invalid on the read-ahead thread.
    wrong_width = _("expected %(n)d columns, found %(m)d")
    no_trailing_field = _("expected %(n)d columns followed by an empty one, as on the other rows, found %(m)d")

    # Rows an unclosed quote ran over (the row number where it opened).
    swallowed: list[int | None] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        row_no = None if row.number is None else row.number + shift
        if _runs_over_records(row.text, info.delimiter, width):
            swallowed.append(row_no)
        if row_no is not None:
            skipped_after.append(row_no - first_row_no - len(skipped_after))
        if bad_rows is not None and (row_no is None or row_no > after):
            reason = no_trailing_field if info.trailing_field and row.actual_columns == width else wrong_width
            bad_rows.append(BadRow(row_no, reason % {"n": width, "m": row.actual_columns}))
        return "skip"

    def numbers(start: int, count: int) -> np.ndarray:
        good = np.arange(start, start + count, dtype=np.int64)
        if not skipped_after:
            return first_row_no + good
        return first_row_no + good + np.searchsorted(np.array(skipped_after), good, side="right")

    # The empty field after the last column, read to tell it is empty.
    trailing = _unused_name(info.columns) if info.trailing_field else None
    names = [*info.columns, trailing] if trailing else info.columns
    encoding = "utf8" if info.encoding in ("utf-8", "utf-8-sig", "ascii") else info.encoding
    read_options = pacsv.ReadOptions(
        column_names=names,
        skip_rows=skip_lines,
        block_size=read_block,
        encoding=encoding,
        # Arrow numbers the malformed rows it hands us only when it reads
        # serially; reading is a small part of the time either way.
        use_threads=False,
    )
    parse_options = pacsv.ParseOptions(
        delimiter=info.delimiter, newlines_in_values=True, invalid_row_handler=on_invalid,
        # Counted, so the rows after a blank line keep their numbers; dropped
        # with the other empty rows below.
        ignore_empty_lines=False,
    )
    convert_options = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in names},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    good_rows = 0  # rows made into chunks so far
    pending: list[pa.RecordBatch] = []
    pending_bytes = pending_rows = 0
    done = after  # the last row handed out

    def refusal(exc: Exception, *, opening: bool) -> Exception:
        if "straddling object" in str(exc):
            return _RowTooLong(row_no=first_row_no + good_rows + pending_rows + len(skipped_after), done=done)
        if isinstance(exc, UnicodeDecodeError) or "invalid UTF8" in str(exc):
            return _mixed_encoding(info, exc, shift=shift)
        if opening:
            return IngestError(_("The file could not be read as CSV: %(error)s") % {"error": exc})
        return IngestError(
            _("The file could not be read as CSV near row %(row)d: %(error)s")
            % {"row": first_row_no + good_rows + pending_rows + len(skipped_after), "error": exc}
        )

    source = pa.input_stream(str(info.path), compression=info.compression)
    try:
        reader = pacsv.open_csv(
            source, read_options=read_options, parse_options=parse_options, convert_options=convert_options
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        source.close()
        if "Empty CSV" in str(exc):
            return
        raise refusal(exc, opening=True) from exc

    def chunk() -> Chunk:
        table = pa.Table.from_batches(pending).combine_chunks()
        row_no = numbers(good_rows, pending_rows)
        if row_no[0] <= after:
            keep = row_no > after
            table, row_no = table.filter(pa.array(keep)), row_no[keep]
        if swallowed:
            raise _unclosed_quote(swallowed[0])
        opened = _swallowing_row(table, info.delimiter)
        if opened is not None:
            raise _unclosed_quote(int(row_no[opened]))
        if trailing:
            table, row_no = _drop_trailing_field(
                table, row_no, trailing, bad_rows=bad_rows, reason=wrong_width % {"n": width, "m": width + 1}
            )
        # Blank lines and rows of empty cells (a spreadsheet's unused rows)
        # are no data: neither read nor rejected, and they keep their numbers.
        empty = _all_null(table)
        if empty is not None:
            table, row_no = table.filter(pc.invert(empty)), row_no[~empty.to_numpy(zero_copy_only=False)]
        table = clean_table(table)
        return Chunk(table.to_pandas(), row_no, table)

    batches = _ReadAhead(reader, depth=max(2, block_bytes // read_block))
    try:
        while True:
            try:
                batch = batches.next()
            except StopIteration:
                break
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                raise refusal(exc, opening=False) from exc
            if batch.num_rows == 0:
                continue
            pending.append(batch)
            pending_bytes += batch.nbytes
            pending_rows += batch.num_rows
            if pending_bytes >= block_bytes:
                last = int(numbers(good_rows + pending_rows - 1, 1)[0])
                if last > after:
                    yield chunk()
                    done = last
                good_rows += pending_rows
                pending, pending_bytes, pending_rows = [], 0, 0
        if pending and int(numbers(good_rows + pending_rows - 1, 1)[0]) > after:
            yield chunk()
        if swallowed:
            raise _unclosed_quote(swallowed[0])
    finally:
        batches.close()
        source.close()


def _unused_name(columns: list[str]) -> str:
    name = f"column_{len(columns) + 1}"
    while name in columns:
        name += "_"
    return name


def _drop_trailing_field(
    table: pa.Table, row_no: np.ndarray, name: str, *, bad_rows: list[BadRow] | None, reason: str
) -> tuple[pa.Table, np.ndarray]:
    """The table without the trailing field, and without the rows where it
    is not empty (rejected: a row one column too wide)."""
    filled = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(table.column(name)), ""), False)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    if pc.any(filled).as_py():
        wide = filled.to_numpy(zero_copy_only=False)
        if bad_rows is not None:
            bad_rows.extend(BadRow(int(r), reason) for r in row_no[wide])
        table, row_no = table.filter(pc.invert(filled)), row_no[~wide]
    return table.drop_columns([name]), row_no


def _first_undecodable_row(info: FileInfo) -> int | None:
    """The first row (numbered as a spreadsheet shows it) whose bytes are not
    text in the file's encoding, reading the file again from its top. None
    when the csv module cannot tell (UTF-16, or a cell over its 128 KB limit)."""
    encoding = "utf-8" if info.encoding in ("utf-8-sig", "ascii") else info.encoding
    if encoding.startswith("utf-16"):
        return None
    record: list[bytes] = []
    with open_bytes(info.path, info.compression) as fh:

        def lines() -> Iterator[str]:
            for line in fh:
                record.append(line)
                yield line.decode("latin-1")  # one character a byte: the csv module only splits

        try:
            for row_no, _cells in enumerate(csv.reader(lines(), delimiter=info.delimiter), start=1):
                raw = b"".join(record)
                record.clear()
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError:
                    return row_no
        except csv.Error:
            return None
    return None


def _mixed_encoding(info: FileInfo, exc: Exception, *, shift: int) -> IngestError:
    row_no = _first_undecodable_row(info)
    if row_no is None:
        # Arrow names a bad row of the first column that has one.
        match = re.search(r"Row #(\d+)", str(exc))
        row_no = int(match.group(1)) + shift if match else None
    where = _where(row_no)
    return IngestError(
        _(
            "The file mixes text encodings: %(where)s is not written in the same encoding as the "
            "rows before it. Nothing was loaded: save the file as UTF-8 and upload it again."
        )
        % {"where": where},
        code="mixed_encoding",
    )


def _where(row_no: int | None) -> str:
    return _("row %(row)d") % {"row": row_no} if row_no is not None else _("a row")


def _cell_too_large(row_no: int, block: int) -> IngestError:
    return IngestError(
        _(
            "Row %(row)d has a cell of more than %(size)d MB, too large to read. Nothing was "
            "loaded: shorten that cell (or close a quote left open in that row) and upload the "
            "file again."
        )
        % {"row": row_no, "size": block // (1024 * 1024)},
        code="cell_too_large",
    )


def _runs_over_records(text: str | None, delimiter: str, columns: int) -> bool:
    """Whether ``text``, one cell or record, goes on over a line that has a
    record's worth of delimiters: a quote left open swallowed the rows after
    it. A note or an address written over several lines has no such line."""
    if not text or "\n" not in text:
        return False
    enough = max(columns - 1, 2)
    return any(line.count(delimiter) >= enough for line in text.splitlines()[1:])


def _has_newline(column: pa.ChunkedArray) -> bool:
    """Whether any cell holds a line break: one scan of the cells' bytes
    (matching cell by cell cost a million-line load 0.2 s)."""
    for chunk in column.chunks:
        offsets_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        buffers = chunk.buffers()
        if buffers[2] is None or len(chunk) == 0:
            continue
        offsets = np.frombuffer(buffers[1], dtype=offsets_type)
        first, last = int(offsets[chunk.offset]), int(offsets[chunk.offset + len(chunk)])
        if (np.frombuffer(buffers[2], dtype=np.uint8)[first:last] == 10).any():
            return True
    return False


def _swallowing_row(table: pa.Table, delimiter: str) -> int | None:
    """The first row with a cell that ran over other rows (see above)."""
    for column in table.columns:
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        if not _has_newline(column):
            continue
        multiline = pc.fill_null(pc.match_substring(column, "\n"), False)
        for index in np.flatnonzero(multiline.to_numpy(zero_copy_only=False)):
            if _runs_over_records(column[int(index)].as_py(), delimiter, table.num_columns):
                return int(index)
    return None


def _unclosed_quote(row_no: int | None) -> IngestError:
    where = _where(row_no)
    return IngestError(
        _(
            "A quote opened in %(where)s is never closed, so the rows after it were read as "
            "part of one cell. Nothing was loaded: close the quote (or remove it) and upload "
            "the file again."
        )
        % {"where": where},
        code="unclosed_quote",
    )


class _ReadAhead:
    """Arrow parses the next blocks on a thread while we work on the last
    ones (it lets go of the GIL); at most ``depth`` blocks wait."""

    _END = object()

    def __init__(self, reader: pacsv.CSVStreamingReader, *, depth: int) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(reader,), name="csv-read-ahead", daemon=True)
        self._thread.start()

    def _run(self, reader: pacsv.CSVStreamingReader) -> None:
        while not self._stop.is_set():
            item: object
            try:
                item = reader.read_next_batch()
            except StopIteration:
                item = self._END
            except Exception as exc:  # noqa: BLE001 - handed over: next() raises it in the reading thread
                item = exc
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item is self._END or isinstance(item, Exception):
                return

    def next(self) -> pa.RecordBatch:
        item = self._queue.get()
        if item is self._END:
            self._queue.put(item)  # later calls end too
            raise StopIteration
        if isinstance(item, Exception):
            raise item
        return item  # type: ignore[return-value]

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get_nowait()
            self._thread.join(timeout=0.05)
