"""Opening an export as it comes: encoding, delimiter, Excel, where the header
is, and reading it in chunks of plain strings so memory stays flat.

Every cell comes out as a string (or missing); typing is validate.py's job.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import itertools
import queue
import re
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.utils.translation import gettext as _

from stores.ingest.errors import IngestError

SAMPLE_BYTES = 256 * 1024
# The encoding is also judged on slices from the middle and the end: an
# export can be plain ASCII for thousands of rows before its first Chinese name.
SLICE_BYTES = 64 * 1024
SLICES = 3
HEADER_SCAN_ROWS = 30
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

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
GZIP_MAGIC = b"\x1f\x8b"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

# ="0123" (Taobao protects long numbers so Excel keeps them as text), '138... and
# a leading tab (JD) are all ways of saying "this is text": drop the wrapping.
_PROTECTED = re.compile(r'^(?:="(.*)"|=(.*)|\'(.*))$', re.DOTALL)
_PROTECTED_ARROW = r'^="(.*)"$|^=(.*)$|^\'(.*)$'
_DATE_IN_NAME = re.compile(r"(20\d{2})[-_.年]?(\d{1,2})[-_.月]?(\d{1,2})")


@dataclass
class FileInfo:
    path: Path
    excel: bool
    compression: str | None
    encoding: str
    delimiter: str
    header_row: int
    columns: list[str]
    rows_estimate: int
    preamble: list[list[str]] = field(default_factory=list)
    # Physical lines up to and including the header (more than header_row + 1
    # when a cell above it holds a line break); None: header_row + 1.
    header_lines: int | None = None
    # Every data row ends with one empty field more than the header has (a
    # trailing comma): read and dropped, and rows where it is not empty rejected.
    trailing_field: bool = False
    # The workbook's sheet the table is on (None: the first).
    sheet: str | None = None


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


def _open_bytes(path: Path, compression: str | None) -> gzip.GzipFile | io.BufferedReader:
    return gzip.open(path, "rb") if compression == "gzip" else path.open("rb")


def _head_bytes(path: Path, compression: str | None) -> bytes:
    with _open_bytes(path, compression) as fh:
        return fh.read(SAMPLE_BYTES)


def _data_size(path: Path, compression: str | None) -> int:
    size = path.stat().st_size
    if compression != "gzip" or size < 4:
        return size
    # A gzip file ends with its data's size (modulo 4 GB, of its last member
    # only): good enough to place the slices.
    with path.open("rb") as fh:
        fh.seek(-4, io.SEEK_END)
        return int.from_bytes(fh.read(4), "little")


def _slices(path: Path, compression: str | None, head: bytes) -> list[bytes]:
    """A few slices from the middle and the end of the file, past the head,
    each starting on a line (so on a character): some 200 KB in all."""
    size = _data_size(path, compression)
    if size <= len(head):
        return []
    slices = []
    starts = sorted({max(len(head), size * k // SLICES - SLICE_BYTES) for k in range(1, SLICES + 1)})
    # Seeking in a gzip file reads up to the place (it is read whole anyway, to count the lines).
    with _open_bytes(path, compression) as fh:
        for start in starts:
            fh.seek(start)
            piece = fh.read(SLICE_BYTES)
            line = piece.find(b"\n") + 1
            if line:
                slices.append(piece[line:])
    return slices


def _magic(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(8)


def detect_encoding(sample: bytes, *slices: bytes) -> str:
    """The encoding of the file's first bytes and of ``slices`` from further
    in, each starting on a character; any of them may end inside one."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith(UTF16_BOMS):
        return "utf-16"
    parts = [sample, *slices]
    for encoding in ("utf-8", "gb18030"):
        try:
            for part in parts:
                codecs.getincrementaldecoder(encoding)().decode(part, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    from charset_normalizer import from_bytes

    body = b"".join(part[: part.rfind(b"\n") + 1] or part for part in parts)
    best = from_bytes(body).best()
    if best is None:
        raise IngestError(_("The file's text encoding could not be recognised."), code="encoding")
    return str(best.encoding)


def detect_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:HEADER_SCAN_ROWS] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sum(line.count(d) for line in lines) for d in ",;\t|"}
        return max(counts, key=lambda d: counts[d])


def _looks_binary(sample: bytes) -> bool:
    if not sample:
        return False
    if b"\x00" in sample[:8192]:
        return True
    control = sum(1 for b in sample[:8192] if b < 9 or 13 < b < 32)
    return control > len(sample[:8192]) * 0.05


def clean_cell(value: str) -> str:
    value = value.strip()
    match = _PROTECTED.match(value)
    if match:
        value = next(g for g in match.groups() if g is not None).strip()
    return value


def clean_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Strip whitespace and Excel text protection from every cell."""
    for col in df.columns:
        s = df[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            s = s.str.strip()
            if s.str.startswith(("=", "'")).any():
                s = s.str.replace(r'^="(.*)"$|^=(.*)$|^\'(.*)$', r"\1\2\3", regex=True).str.strip()
            df[col] = s.mask(s == "")
    return df


def _text_bytes(column: pa.Array | pa.ChunkedArray) -> int:
    return int(pc.sum(pc.binary_length(column)).as_py() or 0)


# First bytes that may start whitespace or Excel's protection, last bytes
# that may end whitespace (any multi-byte character's last byte, to be safe).
_SUSPECT_HEAD = np.zeros(256, dtype=bool)
_SUSPECT_HEAD[: 0x21] = True
_SUSPECT_HEAD[[0xC2, 0xE1, 0xE2, 0xE3, ord("="), ord("'")]] = True
_SUSPECT_TAIL = np.zeros(256, dtype=bool)
_SUSPECT_TAIL[: 0x21] = True
_SUSPECT_TAIL[0x80:] = True


def _may_need_cleaning(column: pa.Array) -> bool:
    """False when no cell can start or end with whitespace or start with
    Excel's text protection, judged from first and last bytes alone (a
    multi-byte character at either end counts as possible whitespace)."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return True
    n = len(column)
    buffers = column.buffers()
    offset_type = np.int64 if pa.types.is_large_string(column.type) else np.int32
    offsets: np.ndarray = np.frombuffer(buffers[1], dtype=offset_type)[column.offset : column.offset + n + 1]
    filled = offsets[1:] > offsets[:-1]
    if not filled.any():
        return False
    data = np.frombuffer(buffers[2], dtype=np.uint8)
    head = data[offsets[:-1][filled]]
    tail = data[offsets[1:][filled] - 1]
    return bool(_SUSPECT_HEAD[head].any() or _SUSPECT_TAIL[tail].any())


def clean_table(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """clean_frame in arrow, column by column, before pandas sees the cells."""
    columns = []
    for column in batch.columns:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if not _may_need_cleaning(column):
            columns.append(column)
            continue
        s = pc.utf8_trim_whitespace(column)
        protected = pc.any(pc.starts_with(s, "=")).as_py() or pc.any(pc.starts_with(s, "'")).as_py()
        if protected:
            s = pc.utf8_trim_whitespace(
                pc.replace_substring_regex(s, pattern=_PROTECTED_ARROW, replacement=r"\1\2\3")
            )
        # Empty cells are already null (the CSV reader's null_values): only a
        # cell that trimming shortened can have become empty.
        if protected or _text_bytes(s) != _text_bytes(column):
            s = pc.if_else(pc.equal(s, ""), pa.scalar(None, s.type), s)
        columns.append(s)
    return pa.Table.from_arrays(columns, names=batch.schema.names)


def clean_batch(batch: pa.RecordBatch | pa.Table) -> pd.DataFrame:
    return clean_table(batch).to_pandas()


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(names):
        name = clean_cell(raw or "") or f"column_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def pick_header(rows: list[list[str]], score: Callable[[list[str]], float]) -> int:
    """The header row: the best signature match, else the first widest row.

    Platform exports (Sycm above all) put a title and a date range above the
    header; the header is the first row as wide as the table.
    """
    best, _score = _best_header(rows, score)
    if best >= 0:
        return best
    widths = [_width(row) for row in rows]
    if not widths or max(widths) == 0:
        return 0
    return widths.index(max(widths))


def _best_header(rows: list[list[str]], score: Callable[[list[str]], float]) -> tuple[int, float]:
    """The row with the best signature match and its score ((-1, 0) when none matches)."""
    best, best_score = -1, 0.0
    for i, row in enumerate(rows):
        s = score([clean_cell(c) for c in row])
        if s > best_score:
            best, best_score = i, s
    return best, best_score


def _width(row: list[str]) -> int:
    return sum(1 for c in row if c.strip())


def sniff(path: Path, *, score: Callable[[list[str]], float]) -> FileInfo:
    """Find out what the file is; raise IngestError for empty or binary files."""
    magic = _magic(path)
    if not magic:
        raise IngestError(_("The file is empty."), code="empty")
    if magic.startswith(XLSX_MAGIC) or magic.startswith(XLS_MAGIC):
        return _sniff_excel(path, score=score, xls=magic.startswith(XLS_MAGIC))
    compression = "gzip" if magic.startswith(GZIP_MAGIC) else None
    sample = _head_bytes(path, compression)
    if not sample.strip():
        raise IngestError(_("The file is empty."), code="empty")
    utf16 = sample.startswith(UTF16_BOMS)
    # UTF-16 (Excel's "Unicode Text") is half zero bytes: judged once decoded.
    if _looks_binary(sample.decode("utf-16", errors="replace").encode() if utf16 else sample):
        raise IngestError(
            _("This is not a CSV or Excel file (it looks like binary data)."), code="binary"
        )
    encoding = "utf-16" if utf16 else detect_encoding(sample, *_slices(path, compression, sample))
    text = sample.decode(encoding, errors="replace")
    # The sample may end inside a row: judge it up to its last line break.
    cut = text.rfind("\n")
    text = (text[: cut + 1] if cut > 0 else text).lstrip("\ufeff")
    delimiter = detect_delimiter(text)
    rows = list(itertools.islice(_records(text, delimiter), HEADER_SCAN_ROWS))
    rows = [r for r in rows if any(c.strip() for c in r)] and rows
    header_row = pick_header(rows, score)
    columns = _dedupe(rows[header_row]) if rows else []
    if len(columns) < 2:
        raise IngestError(
            _("The file has no table: no header row with at least two columns."), code="empty"
        )
    return FileInfo(
        path=path,
        excel=False,
        compression=compression,
        encoding=encoding,
        delimiter=delimiter,
        header_row=header_row,
        columns=columns,
        rows_estimate=_count_lines(path, compression) - header_row - 1,
        preamble=rows[:header_row],
        header_lines=_lines_through(text, delimiter=delimiter, records=header_row + 1),
        trailing_field=_has_trailing_field(rows[header_row + 1 :], width=len(columns)),
    )


def _records(text: str, delimiter: str) -> Iterator[list[str]]:
    """The sample's CSV records, up to one the csv module refuses (a cell
    over its 128 KB limit): the rows above it are enough to sniff the file."""
    with contextlib.suppress(csv.Error):
        yield from csv.reader(io.StringIO(text), delimiter=delimiter)


def _has_trailing_field(rows: list[list[str]], *, width: int) -> bool:
    """Whether most data rows of the sample have one field more than the
    header, and that field empty: the trailing comma of some exports. Reading
    it loses nothing (a row where it holds something is rejected, as it would
    be without it); a row without it is rejected, so it must be the exception."""
    rows = [row for row in rows if any(c.strip() for c in row)]
    trailing = sum(1 for row in rows if len(row) == width + 1 and not row[-1].strip())
    return trailing * 2 > len(rows)


def _lines_through(text: str, *, delimiter: str, records: int) -> int:
    """How many physical lines the first ``records`` CSV records take."""
    parsed = csv.reader(io.StringIO(text), delimiter=delimiter)
    with contextlib.suppress(csv.Error):
        for _record in zip(range(records), parsed, strict=False):
            pass
    return max(parsed.line_num, records)


def _count_lines(path: Path, compression: str | None) -> int:
    opener = gzip.open if compression == "gzip" else open
    total = 0
    with opener(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            total += block.count(b"\n")
    return max(total, 1)


def _unreadable_workbook(exc: Exception) -> IngestError:
    return IngestError(_("The Excel file could not be read: %(error)s") % {"error": exc}, code="binary")


def _read_excel_raw(path: Path, xls: bool, *, sheet: str | int = 0) -> pd.DataFrame:
    try:
        return pd.read_excel(
            path, sheet_name=sheet, header=None, dtype=str, engine="xlrd" if xls else "openpyxl"
        )
    except Exception as exc:  # noqa: BLE001 - any parser failure means "not a readable workbook"
        raise _unreadable_workbook(exc) from exc


def _sheet_rows(frame: pd.DataFrame) -> list[list[str]]:
    return [["" if pd.isna(v) else str(v) for v in row] for row in frame.itertuples(index=False)]


def _pick_sheet(heads: dict[str, list[list[str]]], score: Callable[[list[str]], float]) -> str:
    """The sheet whose header matches an export best (a workbook may open on
    a cover or notes sheet), else the one with the widest row; the first on a tie."""
    best, best_score = next(iter(heads)), 0.0
    for name, rows in heads.items():
        s = _best_header(rows, score)[1]
        if s > best_score:
            best, best_score = name, s
    if best_score > 0:
        return best
    widths = {name: max(map(_width, rows), default=0) for name, rows in heads.items()}
    return max(widths, key=lambda name: widths[name])


def _sheet_length(book: pd.ExcelFile, sheet: str) -> int:
    """The sheet's row count as the workbook records it, for the progress
    bar: iter_chunks reads the sheet, so it is not parsed twice here."""
    workbook = book.book
    if hasattr(workbook, "sheet_by_name"):  # xlrd (.xls)
        return int(workbook.sheet_by_name(sheet).nrows)
    return int(workbook[sheet].max_row or HEADER_SCAN_ROWS)  # openpyxl: the sheet's dimension


def _sniff_excel(path: Path, *, score: Callable[[list[str]], float], xls: bool) -> FileInfo:
    try:
        with pd.ExcelFile(path, engine="xlrd" if xls else "openpyxl") as book:
            heads = {
                str(name): _sheet_rows(pd.read_excel(book, sheet_name=name, header=None, dtype=str, nrows=HEADER_SCAN_ROWS))
                for name in book.sheet_names
            }
            sheet = _pick_sheet(heads, score) if heads else ""
            rows = heads.get(sheet, [])
            total = len(rows) if len(rows) < HEADER_SCAN_ROWS else _sheet_length(book, sheet)
    except Exception as exc:  # noqa: BLE001 - any parser failure means "not a readable workbook"
        raise _unreadable_workbook(exc) from exc
    if not rows:
        raise IngestError(_("The file is empty."), code="empty")
    header_row = pick_header(rows, score)
    columns = _dedupe(rows[header_row])
    return FileInfo(
        path=path,
        excel=True,
        compression=None,
        encoding="",
        delimiter="",
        header_row=header_row,
        columns=columns,
        rows_estimate=max(total - header_row - 1, 0),
        preamble=rows[:header_row],
        sheet=sheet,
    )


def iter_chunks(
    info: FileInfo, *, block_bytes: int = DEFAULT_BLOCK_BYTES, bad_rows: list[BadRow] | None = None
) -> Generator[Chunk, None, None]:
    """Yield the data rows in chunks of strings (missing cells are NA)."""
    if info.excel:
        raw = _read_excel_raw(
            info.path,
            info.path.suffix.lower() == ".xls" or _magic(info.path).startswith(XLS_MAGIC),
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
    with _open_bytes(info.path, info.compression) as fh:

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


def date_from_name(name: str) -> list[str]:
    """Dates written in a file name, as ISO strings (an export's period)."""
    return [f"{y}-{int(m):02d}-{int(d):02d}" for y, m, d in _DATE_IN_NAME.findall(name)]
