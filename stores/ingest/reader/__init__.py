"""Opening an export as it comes: encoding, delimiter, Excel, where the header
is (``sniff``), and reading it in chunks of plain strings so memory stays flat
(``chunks``), each cell cleaned of Excel's protection and stray whitespace
(``cells``).

Every cell comes out as a string (or missing); typing is validate.py's job.
"""

from __future__ import annotations

from stores.ingest.reader.cells import clean_batch, clean_cell, clean_frame, clean_table
from stores.ingest.reader.chunks import (
    DEFAULT_BLOCK_BYTES,
    MAX_READ_BLOCK_BYTES,
    READ_BLOCK_BYTES,
    BadRow,
    Chunk,
    iter_chunks,
)
from stores.ingest.reader.sniff import (
    SAMPLE_BYTES,
    FileInfo,
    date_from_name,
    detect_delimiter,
    detect_encoding,
    pick_header,
    sniff,
)

__all__ = [
    "DEFAULT_BLOCK_BYTES", "MAX_READ_BLOCK_BYTES", "READ_BLOCK_BYTES", "SAMPLE_BYTES", "BadRow", "Chunk",
    "FileInfo", "clean_batch", "clean_cell", "clean_frame", "clean_table", "date_from_name",
    "detect_delimiter", "detect_encoding", "iter_chunks", "pick_header", "sniff",
]
