"""Hypothesis strategies for consistent raw measures of one store and period."""

from __future__ import annotations

from hypothesis import strategies as st

from kpitree.engine import (
    CHANNELS,
    FUNNEL_TREE,
    SEGMENTS,
    CustomerMeasures,
    FunnelMeasures,
    SegmentMeasures,
    TreeValues,
    evaluate,
    funnel_inputs,
)

counts = st.integers(min_value=0, max_value=200_000)


@st.composite
def orders_and_sales(draw: st.DrawFn, buyers: int) -> tuple[int, float, int]:
    if buyers == 0:
        return 0, 0.0, 0
    orders = draw(st.integers(min_value=buyers, max_value=buyers * 4))
    sales = draw(st.one_of(st.just(0.0), st.floats(min_value=0.01, max_value=1e7)))
    units = draw(st.integers(min_value=0, max_value=orders * 5))
    return orders, sales, units


@st.composite
def funnel_measures(draw: st.DrawFn, *, traffic: bool | None = None,
                    inquiry: bool | None = None) -> FunnelMeasures:
    has_traffic = draw(st.booleans()) if traffic is None else traffic
    has_inquiry = draw(st.booleans()) if inquiry is None else inquiry
    by_channel = (draw(st.dictionaries(st.sampled_from(CHANNELS), counts))
                  if has_traffic else None)
    visitors = None if by_channel is None else sum(by_channel.values())
    inquirers = None
    if has_inquiry:
        inquirers = draw(st.integers(0, visitors if visitors is not None else 50_000))
    inquiry_placers = draw(st.integers(0, inquirers or 0)) if inquirers is not None else None
    browsers = None if visitors is None or inquirers is None else visitors - inquirers
    quiet_placers = draw(st.integers(0, browsers if browsers is not None else (visitors or 50_000)))
    placers = quiet_placers + (inquiry_placers or 0)
    buyers = draw(st.integers(0, placers))
    orders, sales, units = draw(orders_and_sales(buyers))
    return FunnelMeasures(visitors_by_channel=by_channel, inquirers=inquirers, placers=placers,
                          inquiry_placers=inquiry_placers, buyers=buyers, orders=orders,
                          sales=sales, units=units)


@st.composite
def segment_measures(draw: st.DrawFn, *, with_base: bool) -> SegmentMeasures:
    buyers = draw(st.integers(0, 20_000))
    orders, sales, _ = draw(orders_and_sales(buyers))
    base = None
    if with_base:
        base = draw(st.one_of(st.none(), st.integers(buyers, buyers + 100_000)))
    return SegmentMeasures(buyers=buyers, orders=orders, sales=sales, base=base)


@st.composite
def customer_measures(draw: st.DrawFn) -> CustomerMeasures:
    visitors = draw(st.one_of(st.none(), counts))
    segments = {g: draw(segment_measures(with_base=g != "new")) for g in SEGMENTS}
    return CustomerMeasures(visitors=visitors, segments=segments)


def hand_built_store(**overrides: object) -> FunnelMeasures:
    """The small store the hand-checked tests start from (counts worked on paper)."""
    fields: dict[str, object] = {
        "visitors_by_channel": {"search": 600, "other": 400},
        "inquirers": 100, "placers": 50, "inquiry_placers": 20,
        "buyers": 40, "orders": 48, "sales": 4800.0, "units": 96,
    } | overrides
    return FunnelMeasures(**fields)  # type: ignore[arg-type]


def hand_built_funnel(m: FunnelMeasures) -> TreeValues:
    return evaluate(FUNNEL_TREE, *funnel_inputs(m))
