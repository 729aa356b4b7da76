"""Generate one demo store's customers, orders and traffic, vectorised with numpy.

The model, in the order the code runs:

1. Daily demand: trend (growth, or the launch ramp of a new store) x yearly
   season (spring new-tea peak) x weekday x events (Double 11, 618,
   Double 12, "38" day, the Spring Festival lull) x noise.
2. Visitors by channel follow demand; the activity and ads channels swell
   on event days. New customers arrive as a share of the day's visitors.
3. Customers are a persistent population: after each purchase a customer
   buys again with some chance after a gap (usually weeks, sometimes more
   than the churn window, which is a win-back); purchases falling shortly
   before a shopping festival are often held for it. The simulation starts
   a year before the window, so the window opens with active and lapsed
   customers in place, as a real 18-month export does.
4. Each purchase intent becomes an order: paid or not, inquired or not,
   1-3 lines from the store's catalogue, sometimes refunded; some paid
   intents leave a closed duplicate order before the paid one.
5. Traffic inquiries are made consistent with the orders: inquiry placers
   per day and channel are exactly the customers who placed an inquired
   order, and inquirers and visitors are never fewer than those who acted.

Everything is a function of the numpy Generator passed in, so a seed and
an end date give the same data every time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from stores.demo.profiles import WINDOW_DAYS, StoreProfile
from stores.models import Channel, OrderStatus

CHANNELS: tuple[str, ...] = tuple(Channel.values)
BURN_IN_DAYS = 365

#: (title, list price in yuan, popularity): a tea shop's shelf.
CATALOGUE: tuple[tuple[str, int, float], ...] = (
    ("Longjing green tea, pre-Qingming, 250 g tin", 268, 0.16),
    ("Biluochun green tea, 125 g", 128, 0.12),
    ("Tieguanyin oolong, fragrant style, 250 g", 158, 0.12),
    ("Da Hong Pao rock tea, 2 x 125 g", 238, 0.09),
    ("Ripe Pu'er cake, 357 g", 198, 0.08),
    ("Raw Pu'er cake, 2019 harvest, 357 g", 388, 0.05),
    ("Jasmine silver needle, 100 g", 88, 0.11),
    ("Keemun black tea, 200 g", 118, 0.08),
    ("White peony white tea, 300 g", 168, 0.07),
    ("Sample set, 8 teas x 8 g", 49, 0.06),
    ("Celadon gaiwan tea set", 299, 0.03),
    ("Gift box: Longjing and Tieguanyin", 588, 0.03),
)

#: Share of orders by local hour: quiet nights, late-morning and evening peaks.
HOUR_WEIGHTS = np.array(
    [1.2, 0.6, 0.3, 0.2, 0.2, 0.3, 0.6, 1.2, 2.5, 4.0, 5.5, 5.8,
     4.8, 5.0, 5.6, 5.6, 5.2, 4.6, 4.2, 5.2, 6.4, 7.2, 6.6, 3.4]
)  # fmt: skip
HOUR_WEIGHTS = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
WEEKDAY_WEIGHTS = np.array([1.02, 0.99, 0.97, 0.97, 0.95, 1.00, 1.10])  # Monday first

#: Spring Festival (lunar new year) dates; couriers stop around them.
SPRING_FESTIVAL = {
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10),
    2025: date(2025, 1, 29), 2026: date(2026, 2, 17), 2027: date(2027, 2, 6),
    2028: date(2028, 1, 26), 2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
}  # fmt: skip

#: Days a planned purchase may be held back to wait for a shopping festival.
HOLD_FOR_FESTIVAL_DAYS = 21
REPEAT_CHANNEL_MIX: dict[str, float] = {
    Channel.SEARCH: 0.28, Channel.CPS: 0.03, Channel.COMMUNITY: 0.06,
    Channel.ADS: 0.02, Channel.ACTIVITY: 0.09, Channel.OTHER: 0.52,
}  # fmt: skip


@dataclass(frozen=True)
class StoreData:
    """One store's generated rows. Money in integer cents (fen).

    orders: external_id, customer, local_date, placed_at (UTC), paid_at
    (UTC or NaT), status, amount, refunded, items, channel, inquired.
    lines: order (row position in orders), line_no, sku, title, quantity,
    unit_price, amount. traffic: date, channel, visitors, page_views,
    inquirers, inquiry_placers.
    """

    customers: np.ndarray
    orders: pd.DataFrame
    lines: pd.DataFrame
    traffic: pd.DataFrame


def event_multipliers(days: pd.DatetimeIndex) -> np.ndarray:
    """Demand multiplier of each day from the retail calendar."""
    month, day = days.month.to_numpy(), days.day.to_numpy()
    mult = np.ones(len(days))
    mult[(month == 11) & (day <= 10)] = 1.25  # Double 11 pre-sale
    mult[(month == 11) & (day == 11)] = 7.0
    mult[(month == 11) & (day == 12)] = 1.6
    mult[(month == 6) & (day <= 17)] = 1.2  # 618 warm-up
    mult[(month == 6) & (day == 18)] = 3.0
    mult[(month == 12) & (day == 12)] = 1.8
    mult[(month == 3) & (day == 8)] = 1.4
    as_dates = days.date
    for festival in SPRING_FESTIVAL.values():
        lull = (as_dates >= festival - timedelta(days=6)) & (
            as_dates <= festival + timedelta(days=6)
        )
        mult[lull] *= 0.5
    return mult


def festival_days(days: pd.DatetimeIndex) -> np.ndarray:
    """Day indices of Double 11 and 618, the days customers wait for."""
    month, day = days.month.to_numpy(), days.day.to_numpy()
    return np.flatnonzero(((month == 11) & (day == 11)) | ((month == 6) & (day == 18)))


def demand_curve(
    *, rng: np.random.Generator, profile: StoreProfile, days: pd.DatetimeIndex, open_index: int
) -> np.ndarray:
    """Relative daily demand (arbitrary scale), zero before the store opened."""
    t = np.arange(len(days), dtype=float)
    end = len(days) - 1
    trend = profile.growth ** (1 + (t - end) / WINDOW_DAYS)
    since_open = t - open_index
    ramp = np.where(since_open >= 0, 1 - 0.75 * np.exp(-np.maximum(since_open, 0) / 30), 0.0)
    doy = days.day_of_year.to_numpy()
    yearly = 1 + 0.15 * np.cos(2 * np.pi * (doy - 100) / 365.25)
    weekly = WEEKDAY_WEIGHTS[days.day_of_week.to_numpy()]
    noise = np.exp(rng.normal(0, 0.08, len(days)))
    return trend * ramp * yearly * weekly * event_multipliers(days) * noise


def visitors_by_channel(
    *, rng: np.random.Generator, profile: StoreProfile, visitors: np.ndarray, events: np.ndarray
) -> np.ndarray:
    """Split each day's visitors over the channels (days x channels)."""
    mix = np.array([profile.channel_mix[channel] for channel in CHANNELS])
    weights = np.tile(mix, (len(visitors), 1))
    # Festivals are bought with activities and display ads.
    weights[:, CHANNELS.index(Channel.ACTIVITY)] *= events**1.2
    weights[:, CHANNELS.index(Channel.ADS)] *= np.sqrt(events)
    weights *= np.exp(rng.normal(0, 0.12, weights.shape))
    weights /= weights.sum(axis=1, keepdims=True)
    return rng.multinomial(visitors.astype(np.int64), weights)


def purchase_days(
    *,
    rng: np.random.Generator,
    profile: StoreProfile,
    first_day: np.ndarray,
    last_index: int,
    festivals: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every purchase intent of every customer: (customer, day index, is repeat).

    A renewal process run for all customers at once, one purchase round per
    loop: the second purchase comes with ``second_purchase`` chance, each
    later one with ``repurchase`` chance; 12% of the gaps run past the churn
    window (won back)."""
    n_days = last_index + 1
    # next_festival[t]: the first festival day on or after t within the hold window.
    next_festival = np.full(n_days + 400, -1)
    for festival in festivals:
        lo = max(0, festival - HOLD_FOR_FESTIVAL_DAYS)
        next_festival[lo : festival + 1] = festival
    customers = [np.arange(len(first_day))]
    days = [first_day]
    repeat = [np.zeros(len(first_day), dtype=bool)]
    alive, last = customers[0], first_day
    round_no = 1
    while alive.size:
        chance = profile.second_purchase if round_no == 1 else profile.repurchase
        keep = rng.random(alive.size) < chance
        alive, last = alive[keep], last[keep]
        median_gap = 32 if round_no == 1 else 55
        gap = np.exp(rng.normal(np.log(median_gap), 0.6, alive.size))
        lapsed = rng.random(alive.size) < 0.12
        gap[lapsed] = rng.uniform(185, 420, lapsed.sum())
        day = last + np.maximum(1, np.rint(gap).astype(np.int64))
        day = np.minimum(day, n_days + 399)
        held = next_festival[day]
        wait = (held > last) & (held >= 0) & (rng.random(alive.size) < 0.5)
        day = np.where(wait, held, day)
        keep = day <= last_index
        alive, last = alive[keep], day[keep]
        customers.append(alive)
        days.append(last)
        repeat.append(np.ones(alive.size, dtype=bool))
        round_no += 1
    return np.concatenate(customers), np.concatenate(days), np.concatenate(repeat)


def _choose(rng: np.random.Generator, cumulative: np.ndarray) -> np.ndarray:
    """One category per row of a (rows x categories) cumulative distribution."""
    u = rng.random(len(cumulative))
    return np.minimum((u[:, None] > cumulative).sum(axis=1), cumulative.shape[1] - 1)


def store_generate(
    *, rng: np.random.Generator, profile: StoreProfile, store_no: int, end: date, scale: float
) -> StoreData:
    """All of one store's demo data for the 18 months ending on ``end``."""
    window_start = end - timedelta(days=WINDOW_DAYS - 1)
    opened = end - timedelta(days=profile.age_days - 1) if profile.age_days else None
    sim_start = window_start - timedelta(days=BURN_IN_DAYS)
    if opened is not None:
        sim_start = max(sim_start, opened)
    days = pd.date_range(sim_start, end, freq="D")
    last_index = len(days) - 1
    open_index = (opened - sim_start).days if opened is not None else -10_000
    first_kept = max((window_start - sim_start).days, 0)

    # 1-2. Demand, visitors, new customers. The constant is set so that the
    # window holds about profile.orders * scale orders.
    demand = demand_curve(rng=rng, profile=profile, days=days, open_index=open_index)
    events = event_multipliers(days)
    orders_per_customer = 1 + profile.second_purchase / (1 - profile.repurchase) * 0.6
    new_customers = profile.orders * scale / orders_per_customer
    level = new_customers / demand[first_kept:].sum()
    visitors = np.rint(demand * level / profile.new_conversion)
    by_channel = visitors_by_channel(rng=rng, profile=profile, visitors=visitors, events=events)
    arrivals = rng.binomial(visitors.astype(np.int64), profile.new_conversion)

    # 3. The customer population and its purchases.
    first_day = np.repeat(np.arange(len(days)), arrivals)
    cust, day, repeat = purchase_days(
        rng=rng,
        profile=profile,
        first_day=first_day,
        last_index=last_index,
        festivals=festival_days(days),
    )
    kept = day >= first_kept
    cust, day, repeat = cust[kept], day[kept], repeat[kept]
    order = np.lexsort((cust, day))
    cust, day, repeat = cust[order], day[order], repeat[order]
    customer_ids, cust = np.unique(cust, return_inverse=True)
    n = len(day)

    # 4. Intents: channel, inquiry, payment, time of day.
    share = by_channel / np.maximum(by_channel.sum(axis=1, keepdims=True), 1)
    channel = _choose(rng, np.cumsum(share[day], axis=1))
    repeat_mix = np.cumsum([REPEAT_CHANNEL_MIX[c] for c in CHANNELS])
    channel[repeat] = _choose(rng, np.tile(repeat_mix, (int(repeat.sum()), 1)))
    inquired = rng.random(n) < profile.inquiry_rate * np.where(repeat, 0.7, 1.0)
    pay_chance = profile.payment_rate + np.where(repeat, 0.05, 0) + np.where(inquired, 0.03, 0)
    paid = rng.random(n) < np.minimum(pay_chance, 0.99)
    hour = rng.choice(24, size=n, p=HOUR_WEIGHTS)
    double11 = (days.month.to_numpy()[day] == 11) & (days.day.to_numpy()[day] == 11)
    hour[double11 & (rng.random(n) < 0.3)] = 0  # the midnight rush when the sale opens
    second = hour * 3600 + rng.integers(0, 3600, n)

    # A paid intent sometimes leaves a closed order placed shortly before it.
    duplicate = paid & (rng.random(n) < 0.02)
    intent = np.concatenate([np.arange(n), np.flatnonzero(duplicate)])
    is_dup = np.concatenate([np.zeros(n, dtype=bool), np.ones(int(duplicate.sum()), dtype=bool)])
    o_second = second[intent] - np.where(is_dup, rng.integers(60, 1800, len(intent)), 0)
    o_second = np.maximum(o_second, 0)
    o_paid = paid[intent] & ~is_dup
    order = np.lexsort((~is_dup, o_second, day[intent]))
    intent, is_dup, o_second, o_paid = intent[order], is_dup[order], o_second[order], o_paid[order]
    m = len(intent)
    o_day = day[intent]

    # Lines: 1-3 distinct products per order, mostly one of each.
    lines_per_order = rng.choice([1, 2, 3], size=m, p=[0.68, 0.24, 0.08])
    line_order = np.repeat(np.arange(m), lines_per_order)
    line_no = np.arange(len(line_order)) - np.repeat(
        np.cumsum(lines_per_order) - lines_per_order, lines_per_order
    )
    popularity = np.array([p for _, _, p in CATALOGUE])
    first_sku = rng.choice(len(CATALOGUE), size=m, p=popularity / popularity.sum())
    step = rng.choice([1, 5, 7, 11], size=m)  # coprime with 12: distinct products
    sku = (first_sku[line_order] + line_no * step[line_order]) % len(CATALOGUE)
    quantity = rng.choice([1, 2, 3], size=len(sku), p=[0.74, 0.19, 0.07])
    prices = np.array(
        [max(9, round(price * profile.price_level)) * 100 for _, price, _ in CATALOGUE]
    )
    unit_price = prices[sku]
    line_amount = unit_price * quantity
    amount = np.bincount(line_order, weights=line_amount, minlength=m).astype(np.int64)
    items = np.bincount(line_order, weights=quantity, minlength=m).astype(np.int64)

    # Status: refunds on a few paid orders; unpaid orders close after a day.
    refunded = o_paid & (rng.random(m) < 0.035)
    refund = np.where(rng.random(m) < 0.6, amount, np.rint(amount * rng.uniform(0.2, 0.6, m)))
    status = np.where(
        o_paid,
        np.where(refunded, OrderStatus.REFUNDED.value, OrderStatus.PAID.value),
        np.where(o_day >= last_index - 1, OrderStatus.UNPAID.value, OrderStatus.CLOSED.value),
    )

    local = days[o_day] + pd.to_timedelta(o_second, unit="s")
    placed = (
        pd.DatetimeIndex(local)
        .tz_localize(
            profile.timezone, ambiguous=np.zeros(m, dtype=bool), nonexistent="shift_forward"
        )
        .tz_convert("UTC")
    )
    pay_delay = pd.to_timedelta(np.rint(20 + rng.exponential(300, m)), unit="s")
    paid_at = pd.Series(placed + pay_delay).where(o_paid)
    stamp = days[o_day].strftime("%y%m%d").to_numpy()
    external_ids = [f"{s}{store_no}{i:07d}" for i, s in enumerate(stamp)]
    prefix = profile.slug.split("-")[0][:4]
    customer_ext = np.array([f"{prefix}-{i:06d}" for i in range(len(customer_ids))])

    orders = pd.DataFrame(
        {
            "external_id": external_ids,
            "customer": customer_ext[cust[intent]],
            "local_date": days[o_day].date,
            "placed_at": placed,
            "paid_at": paid_at.to_numpy(),
            "status": status,
            "amount": amount,
            "refunded": np.where(refunded, refund, 0).astype(np.int64),
            "items": items,
            "channel": np.array(CHANNELS)[channel[intent]],
            "inquired": inquired[intent],
        }
    )
    lines = pd.DataFrame(
        {
            "order": line_order,
            "line_no": line_no + 1,
            "sku": [f"{prefix.upper()}-{k + 1:03d}" for k in sku],
            "title": np.array([title for title, _, _ in CATALOGUE])[sku],
            "quantity": quantity,
            "unit_price": unit_price,
            "amount": line_amount,
        }
    )
    traffic = traffic_frame(
        rng=rng,
        profile=profile,
        days=days,
        first_day=max(first_kept, open_index),
        by_channel=by_channel,
        intent_day=day,
        intent_channel=channel,
        intent_inquired=inquired,
    )
    return StoreData(customers=customer_ext, orders=orders, lines=lines, traffic=traffic)


def traffic_frame(
    *,
    rng: np.random.Generator,
    profile: StoreProfile,
    days: pd.DatetimeIndex,
    first_day: int,
    by_channel: np.ndarray,
    intent_day: np.ndarray,
    intent_channel: np.ndarray,
    intent_inquired: np.ndarray,
) -> pd.DataFrame:
    """Daily traffic by channel, consistent with the orders: one intent is one
    customer on one day, so inquiry placers are counted from intents."""
    shape = by_channel.shape
    cell = intent_day * shape[1] + intent_channel
    placers = np.bincount(cell, minlength=by_channel.size).reshape(shape)
    inquiry_placers = np.bincount(cell[intent_inquired], minlength=by_channel.size).reshape(shape)
    # Those who asked but did not order, plus a few who ask on a quiet day.
    askers = inquiry_placers * (1 / profile.inquiry_conversion - 1) + by_channel * 0.002
    inquirers = inquiry_placers + rng.poisson(askers)
    visitors = np.maximum(by_channel, placers + inquirers - inquiry_placers)
    page_views = np.rint(visitors * rng.uniform(2.2, 3.8, shape)).astype(np.int64)
    rows = slice(first_day, len(days))
    n_days = len(days) - first_day
    return pd.DataFrame(
        {
            "date": np.repeat(days[rows].date, shape[1]),
            "channel": np.tile(np.array(CHANNELS), n_days),
            "visitors": visitors[rows].ravel(),
            "page_views": page_views[rows].ravel(),
            "inquirers": inquirers[rows].ravel(),
            "inquiry_placers": inquiry_placers[rows].ravel(),
        }
    )
