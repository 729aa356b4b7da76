"""One order, one buyer: rows of the same order that disagree on who.

A file lists an order on several rows (its lines, or a platform's repeated
row). Where two rows of one order name different customers, they cannot both
be right, and adding them up (the loaders take the latest status, the
largest total) would make an order nobody placed and lose a buyer. The later
row is rejected, naming the first one.

Checked over each chunk, and for the order a chunk ends on, against the next
chunk too (exports list an order's rows together).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from django.utils.translation import gettext as _

from stores.ingest.validate import REPORT_COLUMNS

# Only the buyer: a till's lines of one order can straddle a minute (the
# UCI retailer's do), and the loaders take the earliest time.
_FIELDS = {
    "customer_id": lambda row: _("a different customer than row %(row)d of the same order") % {"row": row},
}


def _comparable(values: pd.Series, positions: np.ndarray) -> np.ndarray:
    """The values at ``positions`` as numpy compares them fast (zoned times
    as plain ones: pandas would make an object of each)."""
    taken = values.iloc[positions]
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        taken = taken.dt.tz_localize(None)
    return taken.to_numpy()


class OrderConflicts:
    def __init__(self, resolved: dict[str, str]) -> None:
        self._resolved = resolved
        self._last: pd.DataFrame | None = None  # the previous chunk's last order, its first row

    def check(self, good: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``good`` (validated order rows, with row_no) less the rows that
        disagree with their order's first row; and the report of those."""
        none = pd.DataFrame(columns=REPORT_COLUMNS)
        if good.empty:
            return good, none
        columns = ["order_id", "row_no", *_FIELDS]
        rows = good[columns] if self._last is None else pd.concat([self._last, good[columns]])
        ids = pa.array(rows["order_id"], from_pandas=True)
        encoded = (ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids).dictionary_encode()
        codes, uniques = encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary
        last_id = good["order_id"].iloc[-1]
        self._last = good.loc[good["order_id"] == last_id, columns].iloc[:1]
        if len(uniques) == len(rows):
            return good, none
        # first[c]: the position of order c's first row (reversed writes: the first wins).
        first = np.empty(len(uniques), dtype=np.int64)
        first[codes[::-1]] = np.arange(len(rows))[::-1]
        head = first[codes][len(rows) - len(good):]
        bad = np.zeros(len(good), dtype=bool)
        reports = []
        for name, reason in _FIELDS.items():
            values = rows[name]
            present = values.notna().to_numpy()
            mine = present[len(rows) - len(good):] & present[head]
            differs = np.zeros(len(good), dtype=bool)
            at = np.flatnonzero(mine & (head != np.arange(len(rows) - len(good), len(rows))))
            if len(at):
                ours = _comparable(values, at + len(rows) - len(good))
                theirs = _comparable(values, head[at])
                differs[at] = (ours != theirs) & ~bad[at]
            if not differs.any():
                continue
            bad |= differs
            reports.append(pd.DataFrame({
                "row": good["row_no"].to_numpy()[differs],
                "column": self._resolved.get(name, name),
                "reason": [reason(int(r)) for r in rows["row_no"].to_numpy()[head[differs]]],
                "value": good[name][differs].astype("str").to_numpy(),
            }))
        if not reports:
            return good, none
        return good[~bad], pd.concat(reports, ignore_index=True)
