"""Database marketing reads (DOMAIN.md section 5): RFM, lifecycle states, cohorts.

Only paid orders count (a refund keeps the order, net of the refund) and only
known customers (guest orders have nobody to market to). ``as_of`` is a
store-local date; the orders placed before it count, so recency is the
number of days from the last purchase day to ``as_of`` (1 = bought the day
before).

RFM scores run 1-5 (5 best). Recency and monetary are quintiles by percentile
rank with ties averaged, so equal values always share a score. Frequency uses
fixed bands instead (1, 2, 3, 4-5, 6+ orders): most customers buy once, and
quintiles of so many ties leave whole columns of the grid empty.

RFM segments, first match wins (R and F scores):
champions R>=4 F>=4; loyal R>=3 F>=3; new R>=4 and one order;
potential_loyalists R>=4; at_risk R<=2 F>=3; needs_attention R=3;
hibernating R=2; lost the rest (R=1, F<=2).

Lifecycle states with the store's windows (nurture N, churn C days),
matching the segments of the customer tree: churned if recency > C;
new if one order and recency <= N (the nurture window); at_risk (预流失)
if recency > C / 2 (past half-way to churning); active otherwise.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from django.db import connection, transaction

from kpitree.leaves import local_midnight
from stores.models import PAID_STATUSES, Order, Store

RFM_SEGMENTS: tuple[str, ...] = (
    "champions", "loyal", "new", "potential_loyalists", "at_risk", "needs_attention",
    "hibernating", "lost",
)
LIFECYCLE_STATES: tuple[str, ...] = ("new", "active", "at_risk", "churned")
RFM_COLUMNS: list[str] = [
    "customer_id", "external_id", "recency_days", "frequency", "monetary", "r_score",
    "f_score", "m_score", "rfm_score", "segment", "lifecycle",
]
_PAID = ", ".join(f"'{s}'" for s in PAID_STATUSES)


def _epoch(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"extract(epoch from {column})::bigint"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def _query(sql: str, params: list[Any], columns: dict[str, Any]) -> pd.DataFrame:
    """Run a query into a DataFrame of the given column types; through COPY on
    PostgreSQL, the fast way out.

    The CSV is parsed by pandas' C reader with the types declared: pyarrow's
    reader was as fast but kept ~60MB of its memory pool per 200k customers,
    and declared types keep text ids text (inferred, "007" became 7).
    """
    names = list(columns)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A store's customers are grouped in one hash table; the default
            # 4MB spills a million of them to disk and runs several times slower.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL jit = off")  # compiling costs more than it saves here
            query = cursor.mogrify(sql, params).decode()
            buffer = io.BytesIO()
            cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", buffer)
            if buffer.getbuffer().nbytes == 0:
                return pd.DataFrame(columns=names)
            buffer.seek(0)
            return pd.read_csv(buffer, header=None, names=names, dtype=columns, engine="c")
        cursor.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=names)


def _local_days(epochs: pd.Series, store: Store) -> np.ndarray:
    stamps = pd.to_datetime(pd.to_numeric(epochs).astype(np.int64), unit="s", utc=True)
    local = stamps.dt.tz_convert(store.timezone).dt.tz_localize(None)
    return local.to_numpy().astype("datetime64[D]").astype(np.int64)


def _score(values: pd.Series) -> np.ndarray:
    """Quintile 1-5 by percentile rank, ties averaged."""
    pct = values.rank(method="average", pct=True).to_numpy()
    return np.clip(np.ceil(pct * 5), 1, 5).astype(np.int64)


def _rfm_read(*, store: Store, as_of: date, from_orders: bool, external_ids: bool) -> pd.DataFrame:
    """Each customer's last purchase (epoch), paid orders and spend before
    ``as_of``, ordered by customer id. One grouped query over the store's
    orders, or none when nothing was placed since (see below). The external
    ids only when asked: as text they are most of the memory of a read."""
    # MAX of the timestamp (epoch taken once per customer) and a float sum keep
    # the per-row work off numeric arithmetic: 2-3x faster on a million customers.
    external_id = "c.external_id, " if external_ids else ""
    sql = (
        f"SELECT a.customer_id, {external_id}a.last_epoch, a.frequency, a.monetary FROM ("  # noqa: S608 (our fragments; values are parameters)
        f"  SELECT customer_id, {_epoch('MAX(placed_at)')} AS last_epoch, COUNT(*) AS frequency,"
        "   SUM(CAST(amount - refunded_amount AS double precision)) AS monetary"
        f"  FROM stores_order WHERE store_id = %s AND customer_id IS NOT NULL"
        f"  AND status IN ({_PAID}) AND placed_at < %s GROUP BY customer_id"
        ") a JOIN stores_customer c ON c.id = a.customer_id AND c.store_id = %s"
    )
    columns: dict[str, Any] = {
        "customer_id": np.int64, "external_id": str, "last_epoch": np.int64,
        "frequency": np.int64, "monetary": np.float64,
    }
    if not external_ids:
        del columns["external_id"]
    cutoff = local_midnight(store, as_of)
    if not from_orders and not Order.objects.filter(store=store, placed_at__gte=cutoff).exists():
        # Nothing placed since: the lifetime columns the rollup refresh keeps on
        # each customer are the same numbers, without grouping every order.
        sql = (
            f"SELECT id, {external_id.removeprefix('c.')}{_epoch('last_paid_at')}, paid_orders,"  # noqa: S608 (our fragments; values are parameters)
            " CAST(paid_amount AS double precision) FROM stores_customer"
            " WHERE store_id = %s AND paid_orders > 0"
        )
        raw = _query(sql, [store.pk], columns)
    else:
        raw = _query(sql, [store.pk, cutoff, store.pk], columns)
    # The rows come back in no set order (by index or as stored): every column
    # per customer is computed after this, never before (recency once was, and
    # landed on other customers).
    if raw["customer_id"].is_monotonic_increasing:  # ids are unique: already in order
        return raw
    return raw.sort_values("customer_id", ignore_index=True)


def _rfm_columns(raw: pd.DataFrame, *, store: Store, as_of: date) -> dict[str, np.ndarray]:
    """The numbers of ``rfm_table`` from ``_rfm_read``'s rows, with the RFM
    segment and the lifecycle state as codes (positions in RFM_SEGMENTS and
    LIFECYCLE_STATES): text is made only where it is shown."""
    as_of_day = (as_of - date(1970, 1, 1)).days
    recency = as_of_day - _local_days(raw["last_epoch"], store)
    orders = raw["frequency"].to_numpy(np.int64)
    monetary = raw["monetary"].to_numpy(np.float64).round(2)
    r = _score(pd.Series(-recency))
    f = np.select([orders >= 6, orders >= 4, orders == 3, orders == 2], [5, 4, 3, 2], default=1)
    m = _score(pd.Series(monetary))
    return {
        "customer_id": raw["customer_id"].to_numpy(np.int64), "recency_days": recency,
        "frequency": orders, "monetary": monetary, "r_score": r, "f_score": f, "m_score": m,
        "segment": _segment_codes(r, f, orders == 1),
        "lifecycle": _lifecycle_codes(recency, orders == 1, store),
    }


def _segment_codes(r: np.ndarray, f: np.ndarray, once: np.ndarray) -> np.ndarray:
    conditions = [(r >= 4) & (f >= 4), (r >= 3) & (f >= 3), (r >= 4) & once, r >= 4,
                  (r <= 2) & (f >= 3), r == 3, r == 2]
    return np.select(conditions, [np.int8(RFM_SEGMENTS.index(name)) for name in RFM_SEGMENTS[:-1]],
                     default=np.int8(RFM_SEGMENTS.index("lost")))


def _lifecycle_codes(days: np.ndarray, once: np.ndarray, store: Store) -> np.ndarray:
    churn, nurture = store.churn_window_days, store.nurture_window_days
    return np.select(
        [days > churn, once & (days <= nurture), days > churn / 2],
        [np.int8(LIFECYCLE_STATES.index(state)) for state in ("churned", "new", "at_risk")],
        default=np.int8(LIFECYCLE_STATES.index("active")),
    )


_RFM_SCORES: tuple[str, ...] = tuple(
    f"{r}{f}{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6))


def _labels(codes: np.ndarray, names: tuple[str, ...]) -> pd.api.extensions.ExtensionArray:
    """A text column (pandas' Arrow-backed str) of ``names[code]``: taken in
    Arrow, about 16 bytes a row, where numpy's fixed-width strings take 76 and
    converting them to str took 250MB more for a million rows."""
    return pd.array(pa.array(names, type=pa.large_string()).take(pa.array(codes)), dtype="str")


def rfm_table(*, store: Store, as_of: date, from_orders: bool = False) -> pd.DataFrame:
    """One row per customer with a paid order before ``as_of`` (RFM_COLUMNS),
    ordered by customer id. One grouped query over the store's orders."""
    raw = _rfm_read(store=store, as_of=as_of, from_orders=from_orders, external_ids=True)
    if raw.empty:
        return pd.DataFrame(columns=RFM_COLUMNS)
    columns: dict[str, Any] = _rfm_columns(raw, store=store, as_of=as_of)
    columns["external_id"] = raw["external_id"].astype(str).array
    del raw
    scores = (columns["r_score"] - 1) * 25 + (columns["f_score"] - 1) * 5 + columns["m_score"] - 1
    columns["rfm_score"] = _labels(scores, _RFM_SCORES)
    columns["segment"] = _labels(columns["segment"], RFM_SEGMENTS)
    columns["lifecycle"] = _labels(columns["lifecycle"], LIFECYCLE_STATES)
    return pd.DataFrame({name: columns[name] for name in RFM_COLUMNS}, copy=False)


def rfm_summary_table(*, store: Store, as_of: date) -> pd.DataFrame:
    """``rfm_table`` without its text, for summaries (counts and spend by
    segment, state or score): no external_id nor rfm_score, and segment and
    lifecycle as categoricals (RFM_SEGMENTS, LIFECYCLE_STATES). A third of the
    memory, which matters with a million customers: group with observed=True."""
    raw = _rfm_read(store=store, as_of=as_of, from_orders=False, external_ids=False)
    if raw.empty:
        return pd.DataFrame(columns=[c for c in RFM_COLUMNS if c not in ("external_id", "rfm_score")])
    columns: dict[str, Any] = _rfm_columns(raw, store=store, as_of=as_of)
    del raw
    columns["segment"] = pd.Categorical.from_codes(columns["segment"], categories=RFM_SEGMENTS)
    columns["lifecycle"] = pd.Categorical.from_codes(columns["lifecycle"], categories=LIFECYCLE_STATES)
    return pd.DataFrame(columns, copy=False)


def lifecycle_counts(*, store: Store, as_of: date) -> dict[str, int]:
    """Customers in each lifecycle state (every state present, maybe 0)."""
    counts = rfm_table(store=store, as_of=as_of)["lifecycle"].value_counts()
    return {state: int(counts.get(state, 0)) for state in LIFECYCLE_STATES}


def rfm_grid(*, store: Store, as_of: date) -> pd.DataFrame:
    """Customers and their spend in each of the 25 (r_score, f_score) cells."""
    table = rfm_table(store=store, as_of=as_of)
    cells = pd.MultiIndex.from_product([range(1, 6), range(1, 6)], names=["r_score", "f_score"])
    grid = table.groupby(["r_score", "f_score"]).agg(
        customers=("customer_id", "count"), monetary=("monetary", "sum")
    )
    grid = grid.reindex(cells, fill_value=0)
    grid["customers"] = grid["customers"].astype(np.int64)
    return grid.reset_index()


def cohort_retention(*, store: Store, start: date, end: date) -> pd.DataFrame:
    """Customers by the month of their first paid order (cohorts from the month
    of ``start`` to the month of ``end``) and, for each later month k (column
    ``m<k>``), the share of the cohort with a paid order in that month; m0 is
    1 by definition. Months after ``end``'s month are NaN (not yet seen)."""
    sql = (
        f"SELECT customer_id, {_epoch('placed_at')} FROM stores_order WHERE store_id = %s "  # noqa: S608 (our fragments)
        f"AND customer_id IS NOT NULL AND status IN ({_PAID}) AND placed_at < %s"
    )
    raw = _query(sql, [store.pk, local_midnight(store, end + timedelta(days=1))],
                 {"customer_id": np.int64, "epoch": np.int64})
    first_month = _month_index(start)
    last_month = _month_index(end)
    months = [f"m{k}" for k in range(last_month - first_month + 1)]
    empty = pd.DataFrame(columns=["customers", *months], index=pd.Index([], name="cohort"))
    if raw.empty:
        return empty
    days = _local_days(raw["epoch"], store).astype("datetime64[D]")
    month = days.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    del days
    cust, month = _customer_months(raw["customer_id"].to_numpy(np.int64), month)
    del raw
    starts = np.ones(len(cust), dtype=bool)
    starts[1:] = cust[1:] != cust[:-1]
    cohort = month[starts][np.cumsum(starts) - 1]  # each customer's first month
    del starts
    chosen = (cohort >= first_month) & (cohort <= last_month)
    bought = pd.DataFrame({"cust": cust[chosen], "month": month[chosen], "cohort": cohort[chosen]})
    if bought.empty:
        return empty
    bought["k"] = bought["month"] - bought["cohort"]
    counts = bought.pivot_table(index="cohort", columns="k", values="cust", aggfunc="count")
    sizes = counts[0]
    shares = counts.div(sizes, axis=0).fillna(0.0)
    shares = shares.reindex(columns=range(len(months)))
    for cohort_month in shares.index:
        seen = last_month - cohort_month  # later months have not happened yet
        shares.loc[cohort_month, [k for k in shares.columns if k > seen]] = np.nan
        shares.loc[cohort_month, [k for k in shares.columns if k <= seen]] = (
            shares.loc[cohort_month, [k for k in shares.columns if k <= seen]].fillna(0.0)
        )
    shares.columns = months
    shares.insert(0, "customers", sizes.astype(np.int64))
    shares.index = pd.Index(
        [np.datetime64(int(m), "M").astype("datetime64[D]").item() for m in shares.index],
        name="cohort",
    )
    return shares


def _customer_months(customers: np.ndarray, months: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (customer, month) pairs of orders, sorted by customer then
    month, so that a customer's first month starts its run. Sorting two integer
    arrays takes a fraction of the memory of a DataFrame's drop_duplicates and
    groupby over millions of orders."""
    order = np.lexsort((months, customers))
    customers, months = customers[order], months[order]
    del order
    distinct = np.ones(len(customers), dtype=bool)
    distinct[1:] = (customers[1:] != customers[:-1]) | (months[1:] != months[:-1])
    return customers[distinct], months[distinct]


def _month_index(day: date) -> int:
    return (day.year - 1970) * 12 + day.month - 1


def select_customers(
    table: pd.DataFrame, *, segment: str | None = None, lifecycle: str | None = None
) -> pd.DataFrame:
    """The rows of ``rfm_table`` in an RFM segment and/or a lifecycle state.
    Two names are both ("new", "at_risk"), so each filter has its own word."""
    if segment is not None:
        if segment not in RFM_SEGMENTS:
            raise ValueError(f"unknown segment {segment!r}; expected one of {RFM_SEGMENTS}")
        table = table[table["segment"] == segment]
    if lifecycle is not None:
        if lifecycle not in LIFECYCLE_STATES:
            raise ValueError(
                f"unknown lifecycle state {lifecycle!r}; expected one of {LIFECYCLE_STATES}")
        table = table[table["lifecycle"] == lifecycle]
    return table


def segment_customers(
    *, store: Store, as_of: date, segment: str | None = None, lifecycle: str | None = None
) -> Iterator[dict[str, Any]]:
    """The customers of an RFM segment and/or a lifecycle state, for a CSV
    export. An unknown name raises ValueError here, before any row."""
    chosen = select_customers(rfm_table(store=store, as_of=as_of), segment=segment, lifecycle=lifecycle)
    return (
        {column: _plain(value) for column, value in zip(RFM_COLUMNS, row, strict=True)}
        for row in chosen.itertuples(index=False)
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
