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
_COLUMNS = ["order_id", "row_no", "customer_id"]


class OrderConflicts:
    def __init__(self, resolved: dict[str, str]) -> None:
        self._column = resolved.get("customer_id", "customer_id")  # as the file names it
        self._last: pd.DataFrame | None = None  # the previous chunk's last order, its first row

    def check(self, good: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``good`` (validated order rows, with row_no) less the rows that name
        another customer than their order's first row; and the report of those."""
        none = pd.DataFrame(columns=REPORT_COLUMNS)
        if good.empty:
            return good, none
        rows = good[_COLUMNS] if self._last is None else pd.concat([self._last, good[_COLUMNS]])
        ids = pa.array(rows["order_id"], from_pandas=True)
        encoded = (ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids).dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        self._last = good.loc[good["order_id"] == good["order_id"].iloc[-1], _COLUMNS].iloc[:1]
        if len(encoded.dictionary) == len(rows):
            return good, none
        # first[c]: the position of order c's first row (reversed writes: the first wins).
        first = np.empty(len(encoded.dictionary), dtype=np.int64)
        first[codes[::-1]] = np.arange(len(rows))[::-1]
        offset = len(rows) - len(good)  # the carried row, if any, comes first
        head = first[codes][offset:]
        customer = rows["customer_id"]
        present = customer.notna().to_numpy()
        at = np.flatnonzero(present[offset:] & present[head] & (head != np.arange(offset, len(rows))))
        differs = np.zeros(len(good), dtype=bool)
        if len(at):
            differs[at] = customer.iloc[at + offset].to_numpy() != customer.iloc[head[at]].to_numpy()
        if not differs.any():
            return good, none
        reason = _("a different customer than row %(row)d of the same order")
        report = pd.DataFrame({
            "row": good["row_no"].to_numpy()[differs],
            "column": self._column,
            "reason": [reason % {"row": int(r)} for r in rows["row_no"].to_numpy()[head[differs]]],
            "value": good["customer_id"][differs].astype("str").to_numpy(),
        })
        return good[~differs], report
