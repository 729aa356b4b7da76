"""Sniffing an export before it is read: is it a workbook, gzipped or
binary; its encoding (judged on slices from the middle and the end too) and
delimiter; which row is the header; roughly how many rows it has."""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from django.utils.translation import gettext as _

from stores.ingest.errors import IngestError
from stores.ingest.reader.cells import clean_cell

SAMPLE_BYTES = 256 * 1024

# The encoding is also judged on slices from the middle and the end: an
# export can be plain ASCII for thousands of rows before its first Chinese name.
SLICE_BYTES = 64 * 1024

SLICES = 3


HEADER_SCAN_ROWS = 30

XLSX_MAGIC = b"PK\x03\x04"


XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

GZIP_MAGIC = b"\x1f\x8b"


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

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


def open_bytes(path: Path, compression: str | None) -> gzip.GzipFile | io.BufferedReader:
    return gzip.open(path, "rb") if compression == "gzip" else path.open("rb")


def _head_bytes(path: Path, compression: str | None) -> bytes:
    with open_bytes(path, compression) as fh:
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
    with open_bytes(path, compression) as fh:
        for start in starts:
            fh.seek(start)
            piece = fh.read(SLICE_BYTES)
            line = piece.find(b"\n") + 1
            if line:
                slices.append(piece[line:])
    return slices


def file_magic(path: Path) -> bytes:
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
    magic = file_magic(path)
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


def read_excel_raw(path: Path, xls: bool, *, sheet: str | int = 0) -> pd.DataFrame:
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


def date_from_name(name: str) -> list[str]:
    """Dates written in a file name, as ISO strings (an export's period)."""
    return [f"{y}-{int(m):02d}-{int(d):02d}" for y, m, d in _DATE_IN_NAME.findall(name)]
