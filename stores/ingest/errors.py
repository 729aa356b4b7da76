"""Why a whole file is refused. Row-level problems are rejections, not errors."""

from __future__ import annotations


class IngestError(Exception):
    """A file-level refusal, with a message meant for the analyst."""

    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, rows_read: int = 0, rows_rejected: int = 0
    ) -> None:
        super().__init__(message)
        self.message = message
        self.rows_read = rows_read
        self.rows_rejected = rows_rejected
        if code is not None:
            self.code = code


class NeedsMappingError(IngestError):
    """The header matches no known format: the analyst must map the columns."""

    code = "needs_mapping"

    def __init__(self, message: str, *, columns: list[str]) -> None:
        super().__init__(message)
        self.columns = columns
