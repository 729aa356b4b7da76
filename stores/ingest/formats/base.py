"""What every format is: a header signature, and how its columns become ours.

A format turns a chunk of raw string cells into a frame with our canonical
column names (still strings, except the status, which it maps to ours);
validate.py then types and checks them the same way for every platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from stores.ingest.normalise import map_text, money_values

ORDER_FIELDS = (
    "order_id", "customer_id", "placed_at", "paid_at", "status", "amount",
    "refunded_amount", "items", "channel", "inquired",
)
LINE_FIELDS = ("sku", "title", "quantity", "unit_price", "line_amount", "line_refund")
# Checked, not loaded: the currency the order's amounts are in (order-level,
# on an order's first line only in Shopify's export).
CHECK_FIELDS = ("currency",)  # filled down like the order fields (pipeline.fill_order_fields)
ORDER_COLUMNS = ORDER_FIELDS + LINE_FIELDS + CHECK_FIELDS
TRAFFIC_COLUMNS = (
    "date", "source", "source_detail", "visitors", "page_views", "inquirers", "inquiry_placers",
)
REQUIRED = {"orders": ("order_id", "placed_at"), "traffic": ("visitors",)}

Transform = Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]


@dataclass(frozen=True)
class Format:
    key: str
    kind: str  # "orders" or "traffic"
    label: str
    # Headers that must all be present for the format to be recognised.
    signature: tuple[str, ...]
    # canonical name -> the source headers that may hold it, first present wins.
    columns: Mapping[str, tuple[str, ...]]
    date_format: str | None = None
    # Order-level cells only on an order's first line (Shopify): fill them down.
    order_fields_on_first_line: bool = False
    # raw status text -> our status; applied by ``map_status``.
    status_map: Mapping[str, str] = field(default_factory=dict)
    # (canonical, raw) -> canonical: for anything a plain column copy cannot say.
    transform: Transform | None = None

    def score(self, header: list[str]) -> float:
        """1.0 when every signature column is present, else 0."""
        present = {header_key(h) for h in header}
        return 1.0 + len(self.signature) / 100 if all(header_key(c) in present for c in self.signature) else 0.0

    def resolve(self, header: list[str]) -> dict[str, str]:
        """canonical name -> the source column that holds it in this file.

        Headers match whatever their case and surrounding spaces (``Order_ID``,
        `` PAID_AT ``); a header written exactly as expected wins over a variant.
        """
        present: dict[str, str] = {}
        for h in header:
            present.setdefault(header_key(h), h)
        present.update({header_key(h): h for h in header if h in self._expected})
        found: dict[str, str] = {}
        for canonical, candidates in self.columns.items():
            for candidate in candidates:
                if header_key(candidate) in present:
                    found[canonical] = present[header_key(candidate)]
                    break
        return found

    @property
    def _expected(self) -> set[str]:
        return {c for candidates in self.columns.values() for c in candidates}

    def to_canonical(self, raw: pd.DataFrame, resolved: dict[str, str]) -> pd.DataFrame:
        names = ORDER_COLUMNS if self.kind == "orders" else TRAFFIC_COLUMNS
        absent = pd.Series(pd.NA, index=raw.index, dtype="str")
        out = pd.DataFrame(
            {name: raw[resolved[name]] if name in resolved else absent for name in names}, index=raw.index
        )
        if self.kind == "orders" and self.status_map:
            out["status"] = map_status(out["status"], self.status_map)
        if self.transform is not None:
            out = self.transform(out, raw)
        if self.kind == "orders":
            out = refund_in_full(out)
        return out


def header_key(name: str) -> str:
    """A header as compared: ``Order_ID `` and ``order_id`` are the same column."""
    return name.strip().casefold()


def refund_in_full(out: pd.DataFrame) -> pd.DataFrame:
    """A refunded order whose export gives no refund (neither for the order nor
    for the line), or an order refund of 0, was refunded in full: otherwise it
    would count as a sale. (Taobao writes 退款金额 0.00 on a paid trade it
    closed.) A line's 0 stays 0: its order's other lines may carry the refund."""
    refunded = (out["status"] == "refunded") & out["line_refund"].isna()
    if not refunded.any():
        return out
    order_refund = money_values(out["refunded_amount"])
    unknown = refunded & (order_refund.isna() | (order_refund == 0)).to_numpy()
    if unknown.any():
        out["refunded_amount"] = out["refunded_amount"].mask(unknown, out["amount"])
    return out


def map_status(raw: pd.Series, table: Mapping[str, str]) -> pd.Series:
    """Map exact status texts; unknown texts stay as they are (validation reports them)."""
    lowered = {k.lower(): v for k, v in table.items()}
    return map_text(raw, lambda text: lowered.get(text.strip().lower(), text))


def mapped_format(*, kind: str, mapping: Mapping[str, str], key: str = "mapped") -> Format:
    """A format built from an analyst's hand mapping: canonical -> source column."""
    from stores.ingest.formats.generic import GENERIC_STATUS

    columns = {canonical: (source,) for canonical, source in mapping.items() if source}
    return Format(
        key=key,
        kind=kind,
        label="Mapped by hand",
        signature=tuple(columns[c][0] for c in REQUIRED[kind] if c in columns),
        columns=columns,
        order_fields_on_first_line=kind == "orders",
        status_map=GENERIC_STATUS if kind == "orders" else {},
        transform=_default_status if kind == "orders" else None,
    )


def _default_status(out: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    """Without a status column an order is paid (retail exports list sales),
    or, when the file has a payment time column, paid exactly when it has one."""
    if out["status"].isna().all():
        if out["paid_at"].notna().any():
            out["status"] = out["paid_at"].notna().map({True: "paid", False: "unpaid"}).astype("str")
        else:
            out["status"] = "paid"
    return out
