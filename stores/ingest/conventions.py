"""How a file writes what a single cell does not say, kept for the whole file.

``07/10/2025`` is 7 October or 10 July, and ``1.000`` is one or a thousand,
depending on the column: a ``13/10/2025`` or a ``12,50`` elsewhere in it
settles the question. The file is read in chunks, so each column carries a
``Convention`` from chunk to chunk: once a chunk settles it, later chunks
read that way (and refuse the cells that say otherwise). An earlier chunk
may already have read ambiguous cells the default way; if the file then
settles on the other way, ``ConventionChanged`` asks the pipeline to read the
file again from the top, this time knowing the column's way.

A column may start with a ``default``: the way to read ambiguous cells when
the file never settles it (a store's dates, as its earlier files wrote them).
The file still wins: a cell that settles the other way starts again as above.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ConventionChanged(Exception):  # noqa: N818 - a signal to start again, not an error
    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


@dataclass
class Convention:
    column: str
    # Day-first dates, or the decimal comma: None until a cell settles it.
    settled: bool | None = None
    # The ways ambiguous cells were read before it was settled.
    assumed: set[bool] = field(default_factory=set)
    # How to read ambiguous cells until the file settles it; None: the column's own rule.
    default: bool | None = None

    def settle(self, way: bool) -> None:
        """The file says ``way``; start again if ambiguous cells were read otherwise."""
        self.settled = way
        if self.assumed - {way}:
            raise ConventionChanged(self.column)

    def assume(self, way: bool) -> None:
        """Ambiguous cells were read ``way`` while nothing settled it."""
        self.assumed.add(way)


@dataclass
class Conventions:
    """Per column, for one file; ``defaults`` gives columns their ``default``."""

    columns: dict[str, Convention] = field(default_factory=dict)
    defaults: dict[str, bool | None] = field(default_factory=dict)

    def __call__(self, column: str) -> Convention:
        if column not in self.columns:
            self.columns[column] = Convention(column, default=self.defaults.get(column))
        return self.columns[column]
