"""An order is loaded whole or not at all.

A refused row (an unreadable quantity, a negative price) is one line of its
order. Loading the order's other lines would make an order nobody placed:
its items short and, where the file gives no order total, its amount added
up from the lines too small. So its other lines are refused too, naming the
refused one; corrected and uploaded again, the order loads whole.

Checked within each chunk, and for the order a chunk ends on against the
next chunk (exports list an order's lines together): lines of it that the
stager still holds back are taken back (``Stager.drop_held``). A file that
scatters an order's lines may still load some of them.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from stores.ingest.validate import REPORT_COLUMNS


def no_lines() -> pd.DataFrame:
    """No lines taken back: what ``drop_held`` gives when it holds none."""
    return pd.DataFrame({"row_no": pd.Series(dtype="int64"), "order_id": pd.Series(dtype="str")})


def take_back(frames: list[pd.DataFrame], order_ids: set[str]) -> pd.DataFrame:
    """``drop_held`` for stagers that keep each chunk's rows as a frame: the
    last frame's rows of these orders are removed; their row_no and order_id."""
    if not frames or not order_ids:
        return no_lines()
    mine = frames[-1]["order_id"].isin(list(order_ids))
    dropped = frames[-1].loc[mine, ["row_no", "order_id"]]
    frames[-1] = frames[-1][~mine]
    return dropped


class Holding(Protocol):
    def drop_held(self, order_ids: set[str]) -> pd.DataFrame:
        """Take back the rows held for the next chunk of these orders; their
        ``row_no`` and ``order_id``."""
        ...


class WholeOrders:
    def __init__(self) -> None:
        # The order the rows so far end on, and its refused row, when it has one.
        self._open: tuple[str, int] | None = None

    def check(self, canon: pd.DataFrame, rows: pd.Series, good: pd.DataFrame,
              stager: Holding) -> tuple[pd.DataFrame, pd.DataFrame, int]:
        """``good`` (the valid rows of the chunk ``canon``, whose row numbers
        are ``rows``) less the lines of orders with a refused line; the report
        of those lines; and how many of them the stager had held back."""
        refused = canon.index.difference(good.index)
        first: dict[str, int] = {}
        if self._open is not None:
            first[self._open[0]] = self._open[1]
        for order_id, row in zip(canon.loc[refused, "order_id"].tolist(), rows[refused].tolist(), strict=True):
            if isinstance(order_id, str):
                first.setdefault(order_id, int(row))
        last_id = canon["order_id"].iloc[-1] if len(canon) else None
        self._open = (last_id, first[last_id]) if isinstance(last_id, str) and last_id in first else None
        if not first:
            return good, pd.DataFrame(columns=REPORT_COLUMNS), 0
        held = stager.drop_held(set(first))
        dropped = good["order_id"].isin(list(first)).to_numpy()
        lines = pd.concat([held, good.loc[dropped, ["row_no", "order_id"]]], ignore_index=True)
        reason = _("another line of this order was refused: row %(row)d")
        report = pd.DataFrame({
            "row": lines["row_no"].to_numpy(dtype=np.int64),
            "column": "order_id",
            "reason": [reason % {"row": first[i]} for i in lines["order_id"].tolist()],
            "value": lines["order_id"].to_numpy(),
        }, columns=REPORT_COLUMNS)
        return good[~dropped], report, len(held)
