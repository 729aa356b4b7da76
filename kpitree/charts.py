"""Plotly figures for the diagnosis pages: data in, ``go.Figure`` out.

Every hover label is formatted here by ``kpitree.formatting`` (not by d3
formats in the browser), so a tooltip shows exactly what the tables show, in
the store's currency and the user's language.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from django.utils.translation import gettext as _

from kpitree import formatting as fmt

if TYPE_CHECKING:
    from kpitree.selectors import NodeRow, TreeDiagnosis

STATUS_COLOURS: dict[str | None, str] = {
    "green": "#15803d",
    "amber": "#b45309",
    "red": "#b91c1c",
    None: "#94a3b8",
}
CURRENT_COLOUR = "#c2410c"
BASE_COLOUR = "#94a3b8"
CHANNEL_COLOURS = ["#c2410c", "#0f766e", "#7c3aed", "#2563eb", "#ca8a04", "#64748b"]
FONT = '-apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif'
# No plotly logo, no "edit in Chart Studio" link: nothing on the page points
# at another host.
CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "showLink": False,
    "showSendToCloud": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
}


def figure_json(fig: go.Figure, *, static: bool = False) -> str:
    """The figure and our config as JSON, safe inside <script type="application/json">."""
    config = dict(CONFIG, staticPlot=False, displayModeBar=not static and "hover")
    text = pio.to_json(fig, validate=False, engine="json")
    text = text[:-1] + ',"config":' + json.dumps(config) + "}"
    # "<" only occurs inside JSON strings, where \u003c means the same; this keeps
    # "</script>" in a store or node name from closing the tag.
    return text.replace("<", "\\u003c")


def _layout(fig: go.Figure, *, height: int, xaxis: dict[str, Any] | None = None,
            yaxis: dict[str, Any] | None = None, **extra: Any) -> go.Figure:
    """Set the whole layout in one assignment: plotly's update_* calls parse
    every property path and cost more than the rest of a page put together."""
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 48, "r": 16, "t": 28, "b": 36},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": FONT, "size": 12, "color": "#1f2933"},
        "hoverlabel": {"font": {"family": FONT, "size": 12}, "align": "left"},
        "showlegend": False,
        **extra,
        "xaxis": {"gridcolor": "#eef1f4", "zeroline": False, **(xaxis or {})},
        "yaxis": {"gridcolor": "#eef1f4", "zeroline": False, **(yaxis or {})},
    }
    fig.layout = layout
    return fig


def _wrap(text: str, width: int) -> str:
    # Chinese names have no spaces: cut them by characters (each is two wide).
    if not text.isascii() and " " not in text and len(text) > width // 2:
        step = max(width // 2, 4)
        return "<br>".join(text[i : i + step] for i in range(0, len(text), step))
    return "<br>".join(textwrap.wrap(text, width)) or text


def _node_hover(row: NodeRow, currency: str, base_label: str) -> str:
    name = fmt.localized_name(row)
    value_label, change_label = _("Value"), _("Change")
    lines = [
        f"<b>{name}</b>",
        f"{value_label}: {fmt.metric(row.value, row.unit, currency)}",
        f"{base_label}: {fmt.metric(row.base_value, row.unit, currency)}",
        f"{change_label}: {fmt.metric_change(row.change, row.unit, currency)}"
        f" ({fmt.change_percent(row.change_pct)})",
    ]
    if row.contribution is not None:
        contribution_label = _("Contribution to sales")
        lines.append(f"{contribution_label}: {fmt.signed_money(row.contribution, currency)}")
    if row.missing:
        lines.append(_("No data for this node: upload the export that holds it."))
    return "<br>".join(lines)


def tree_layout(nodes: Sequence[NodeRow]) -> dict[str, tuple[float, int]]:
    """(x, depth) for each node: leaves side by side in the tree's own order,
    each parent centred over its children, so edges never cross."""
    children: dict[str | None, list[str]] = {}
    for row in nodes:
        children.setdefault(row.parent, []).append(row.key)
    positions: dict[str, tuple[float, int]] = {}
    next_leaf = 0.0

    def place(key: str, depth: int) -> float:
        nonlocal next_leaf
        kids = children.get(key, [])
        if not kids:
            x = next_leaf
            next_leaf += 1
        else:
            xs = [place(kid, depth + 1) for kid in kids]
            x = (xs[0] + xs[-1]) / 2
        positions[key] = (x, depth)
        return x

    for root in children.get(None, []):
        place(root, 0)
    return positions


def tree_figure(tree: TreeDiagnosis, *, currency: str, base_label: str) -> go.Figure:
    """The KPI tree top to bottom; colour is status against the base, the
    label says the value and its change. ``customdata`` carries the node key
    for the drill-down click."""
    pos = tree_layout(tree.nodes)
    rows = [row for row in tree.nodes if row.key in pos]
    leaves = max((x for x, _d in pos.values()), default=0) + 1
    depth = max((d for _x, d in pos.values()), default=0) + 1
    width_chars = 14 if leaves <= 10 else 11
    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    for row in rows:
        if row.parent is not None and row.parent in pos:
            (x0, d0), (x1, d1) = pos[row.parent], pos[row.key]
            # An elbow edge: down from the parent, across, down to the child.
            mid = -(d0 + 0.55)
            edge_x += [x0, x0, x1, x1, None]
            edge_y += [-d0, mid, mid, -d1, None]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=edge_x, y=edge_y, mode="lines", hoverinfo="skip",
                   line={"color": "#cbd5e1", "width": 1.2})
    )
    labels = []
    for row in rows:
        value = fmt.metric(row.value, row.unit, currency)
        change = fmt.change_percent(row.change_pct)
        labels.append(f"{_wrap(fmt.localized_name(row), width_chars)}<br><b>{value}</b><br>{change}")
    fig.add_trace(
        go.Scatter(
            x=[pos[r.key][0] for r in rows],
            y=[-pos[r.key][1] for r in rows],
            mode="markers+text",
            text=labels,
            textposition="bottom center",
            textfont={"size": 10},
            customdata=[r.key for r in rows],
            hovertext=[_node_hover(r, currency, base_label) for r in rows],
            hoverinfo="text",
            marker={
                "size": [22 if r.depth == 0 else 16 for r in rows],
                "symbol": "square",
                "color": [STATUS_COLOURS.get(None if r.missing else r.status, STATUS_COLOURS[None])
                          for r in rows],
                "line": {"color": "#ffffff", "width": 1.5},
            },
        )
    )
    _layout(fig, height=150 + 120 * depth, margin={"l": 10, "r": 10, "t": 20, "b": 10},
            xaxis={"visible": False, "range": [-0.7, leaves - 0.3], "fixedrange": True},
            yaxis={"visible": False, "range": [-(depth - 1) - 0.95, 0.35], "fixedrange": True},
            clickmode="event", dragmode=False)
    return fig


def waterfall_figure(
    *, tree: TreeDiagnosis, currency: str, sales: float | None, base_sales: float | None,
    base_label: str,
) -> go.Figure:
    """Base sales, each leaf's exact contribution (largest first), current
    sales. The leaves add up to the change with no residual; the title says so."""
    leaves = [
        r for r in tree.nodes
        if r.is_leaf_of_decomposition and r.contribution is not None
    ]
    leaves.sort(key=lambda r: -abs(float(r.contribution or 0)))
    names = [fmt.localized_name(r) for r in leaves]
    x = [base_label, *names, _("Current sales")]
    y = [float(base_sales or 0), *[float(r.contribution or 0) for r in leaves], float(sales or 0)]
    hover = [f"{base_label}: {fmt.money(base_sales, currency)}"]
    contribution_label, value_label, base_word = _("Contribution"), _("Value"), _("base")
    current_label = _("Current sales")
    hover += [
        f"<b>{n}</b><br>{contribution_label}: {fmt.signed_money(r.contribution, currency)}"
        f"<br>{value_label}: {fmt.metric(r.value, r.unit, currency)}"
        f" ({base_word} {fmt.metric(r.base_value, r.unit, currency)})"
        for n, r in zip(names, leaves, strict=True)
    ]
    hover.append(f"{current_label}: {fmt.money(sales, currency)}")
    fig = go.Figure(
        go.Waterfall(
            x=x,
            y=y,
            measure=["absolute", *["relative"] * len(leaves), "total"],
            text=[fmt.money_compact(base_sales, currency)]
            + [fmt.signed_money(r.contribution, currency) for r in leaves]
            + [fmt.money_compact(sales, currency)],
            textposition="outside",
            textfont={"size": 10},
            hovertext=hover,
            hoverinfo="text",
            connector={"line": {"color": "#cbd5e1"}},
            increasing={"marker": {"color": STATUS_COLOURS["green"]}},
            decreasing={"marker": {"color": STATUS_COLOURS["red"]}},
            totals={"marker": {"color": "#475569"}},
        )
    )
    _layout(fig, height=380, margin={"l": 60, "r": 16, "t": 36, "b": 110},
            xaxis={"tickangle": -35, "tickfont": {"size": 10}},
            yaxis={"tickprefix": fmt.currency_symbol(currency)})
    return fig


def _daily(series: pd.DataFrame | None, column: str) -> pd.Series | None:
    if series is None or series.empty or column not in series.columns:
        return None
    values = pd.to_numeric(series[column], errors="coerce")
    return None if values.isna().all() else values


def d3_format(unit: str, currency: str) -> str:
    """The plotly hover format of a unit, matching ``formatting.metric`` (digits
    grouped by three in both languages, the store's currency symbol)."""
    if unit == "money":
        return fmt.currency_symbol(currency) + "%{y:,.2f}"
    if unit == "rate":
        return "%{y:.2%}"
    if unit == "ratio":
        return "%{y:,.2f}"
    return "%{y:,.0f}"


def _dates(index: pd.Index) -> np.ndarray:
    # Numeric and date arrays pass plotly's validation in one step; lists of
    # per-point strings are checked one by one (a year of days is slow).
    return pd.to_datetime(pd.Index(index)).to_numpy()


def trend_figure(
    *, current: pd.DataFrame | None, base: pd.DataFrame | None, column: str, unit: str,
    title: str, currency: str, base_label: str, height: int = 240,
) -> go.Figure | None:
    """One metric by day, the base period overlaid day for day (its own dates
    in the hover), so "day 3 of this month" sits over "day 3 of last month"."""
    now = _daily(current, column)
    if now is None:
        return None
    value = d3_format(unit, currency)
    fig = go.Figure()
    dates = _dates(now.index)
    then = _daily(base, column)
    if then is not None:
        n = min(len(then), len(dates))
        fig.add_trace(
            go.Scatter(
                x=dates[:n], y=then.iloc[:n].to_numpy(dtype=float), mode="lines", name=base_label,
                line={"color": BASE_COLOUR, "dash": "dot", "width": 1.5},
                customdata=_dates(then.index[:n]),
                hovertemplate=f"{base_label} · %{{customdata|%Y-%m-%d}}: {value}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=dates, y=now.to_numpy(dtype=float), mode="lines+markers", name=_("Current period"),
            line={"color": CURRENT_COLOUR, "width": 2}, marker={"size": 4},
            hovertemplate=f"%{{x|%Y-%m-%d}}: {value}<extra></extra>",
        )
    )
    yaxis = (
        {"tickformat": ".1%"} if unit == "rate"
        else {"tickprefix": fmt.currency_symbol(currency)} if unit == "money"
        else {}
    )
    _layout(fig, height=height, title={"text": title, "font": {"size": 13}, "x": 0.01},
            margin={"l": 56, "r": 12, "t": 32, "b": 28}, hovermode="x unified", yaxis=yaxis)
    return fig


def channel_mix_figure(*, daily: pd.DataFrame | None, channel_names: dict[str, str]) -> go.Figure | None:
    """Visitors by channel and day, stacked: where the traffic came from."""
    if daily is None or daily.empty:
        return None
    fig = go.Figure()
    dates = _dates(daily.index)
    for i, (channel, name) in enumerate(channel_names.items()):
        values = _daily(daily, f"visitors_{channel}")
        if values is None:
            continue
        fig.add_trace(
            go.Bar(
                x=dates, y=values.to_numpy(dtype=float), name=name,
                marker={"color": CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)]},
                hovertemplate=f"{name} · %{{x|%Y-%m-%d}}: %{{y:,.0f}}<extra></extra>",
            )
        )
    if not fig.data:
        return None
    _layout(fig, height=280, barmode="stack", showlegend=True,
            legend={"orientation": "h", "y": -0.2, "font": {"size": 11}},
            margin={"l": 56, "r": 12, "t": 16, "b": 20})
    return fig


def sparkline_figure(*, series: Iterable[tuple[date, float | None]], currency: str) -> go.Figure | None:
    points = [(d, v) for d, v in series]
    if not any(v is not None for _d2, v in points):
        return None
    fig = go.Figure(
        go.Scatter(
            x=[d for d, _v in points], y=[_f(v) for _d2, v in points], mode="lines",
            line={"color": CURRENT_COLOUR, "width": 1.5}, fill="tozeroy",
            fillcolor="rgba(194,65,12,0.08)",
            hovertext=[f"{_d(d)}: {fmt.money(v, currency)}" for d, v in points],
            hoverinfo="text",
        )
    )
    _layout(fig, height=48, margin={"l": 0, "r": 0, "t": 2, "b": 2},
            xaxis={"visible": False, "fixedrange": True},
            yaxis={"visible": False, "fixedrange": True, "rangemode": "tozero"})
    return fig


def bar_figure(
    *, labels: Sequence[str], values: Sequence[float | None], hover: Sequence[str],
    colour: str = CURRENT_COLOUR, height: int = 260, horizontal: bool = False,
) -> go.Figure:
    ys = [_f(v) for v in values]
    trace = (
        go.Bar(y=list(labels), x=ys, orientation="h", marker={"color": colour},
               hovertext=list(hover), hoverinfo="text",
               text=[fmt.number(v) for v in values], textposition="auto")
        if horizontal
        else go.Bar(x=list(labels), y=ys, marker={"color": colour}, hovertext=list(hover),
                    hoverinfo="text", text=[fmt.number(v) for v in values], textposition="auto")
    )
    fig = go.Figure(trace)
    _layout(fig, height=height, margin={"l": 120 if horizontal else 48, "r": 16, "t": 16, "b": 40},
            yaxis={"autorange": "reversed"} if horizontal else None)
    return fig


def sankey_figure(
    *, sources: Sequence[str], targets: Sequence[str], values: Sequence[float],
    node_labels: dict[str, str], height: int = 320,
) -> go.Figure | None:
    """Flows between lifecycle states: where last period's customers are now."""
    if not values or not any(values):
        return None
    keys = list(dict.fromkeys([*sources, *targets]))
    index = {k: i for i, k in enumerate(keys)}
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": [node_labels.get(k, k) for k in keys], "pad": 14, "thickness": 14,
                  "color": [CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)] for i in range(len(keys))],
                  "hovertemplate": "%{label}: %{value:,.0f}<extra></extra>"},
            link={
                "source": [index[s] for s in sources],
                "target": [index[t] for t in targets],
                "value": [float(v) for v in values],
                "hovertemplate": "%{source.label} → %{target.label}: %{value:,.0f}<extra></extra>",
                "color": "rgba(148,163,184,0.35)",
            },
        )
    )
    _layout(fig, height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


def heatmap_figure(
    *, z: Sequence[Sequence[float | None]], x: Sequence[str], y: Sequence[str],
    hover: Sequence[Sequence[str]], text: Sequence[Sequence[str]], colorscale: str = "Oranges",
    height: int = 360, zmax: float | None = None,
) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=[[_f(v) for v in row] for row in z], x=list(x), y=list(y),
            hovertext=[list(r) for r in hover], hoverinfo="text",
            text=[list(r) for r in text], texttemplate="%{text}", textfont={"size": 10},
            colorscale=colorscale, showscale=False, zmin=0, zmax=zmax, xgap=2, ygap=2,
        )
    )
    _layout(fig, height=height, margin={"l": 80, "r": 12, "t": 16, "b": 48},
            yaxis={"autorange": "reversed", "type": "category"},
            xaxis={"type": "category", "side": "bottom"})
    return fig


def _f(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number  # NaN -> gap, not a zero


def _d(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


# ---------------------------------------------------------------------------
# Customers (database marketing)
# ---------------------------------------------------------------------------


def lifecycle_flows(before: pd.DataFrame, after: pd.DataFrame) -> list[tuple[str, str, int]]:
    """(state then, state now, customers) for every customer known now, in
    order of the names; those unknown then come from "prospect". Both frames
    are ``rfm_table`` results, or ``rfm_summary_table`` ones (categoricals,
    which have no "prospect" to fill in: unknown stays a missing key here)."""
    if after.empty:
        return []
    then = before.set_index("customer_id")["lifecycle"] if not before.empty else pd.Series(dtype=str)
    now = after.set_index("customer_id")["lifecycle"]
    pairs = pd.DataFrame({"then": then.reindex(now.index), "now": now})
    counts = pairs.groupby(["then", "now"], observed=True, dropna=False).size()
    return sorted(
        ("prospect" if pd.isna(a) else str(a), str(b), int(n))
        for (a, b), n in counts.items() if n > 0
    )


def segment_summary(table: pd.DataFrame, column: str) -> dict[str, tuple[int, float]]:
    """Customers and their spend per value of ``column`` (segment or lifecycle),
    in order of the names (a categorical column groups in its own order)."""
    if table.empty:
        return {}
    grouped = table.groupby(column, observed=True).agg(
        customers=("customer_id", "count"), sales=("monetary", "sum"))
    return dict(sorted((str(k), (int(r.customers), float(r.sales))) for k, r in grouped.iterrows()))


def rfm_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Customers and spend per (r_score, f_score) cell of an ``rfm_table``, as
    ``kpitree.customers.rfm_grid`` gives them (empty cells are absent)."""
    if table.empty:
        return pd.DataFrame(columns=["r_score", "f_score", "customers", "monetary"])
    return (
        table.groupby(["r_score", "f_score"])
        .agg(customers=("customer_id", "count"), monetary=("monetary", "sum"))
        .reset_index()
    )


def rfm_grid_figure(*, grid: pd.DataFrame, currency: str) -> go.Figure | None:
    """Customers in each (recency, frequency) score cell; 5 is best on both."""
    if grid.empty or int(grid["customers"].sum()) == 0:
        return None
    r_values = [5, 4, 3, 2, 1]
    f_values = [1, 2, 3, 4, 5]
    cells = {(int(r.r_score), int(r.f_score)): (int(r.customers), float(r.monetary))
             for r in grid.itertuples()}
    z, text, hover = [], [], []
    customers_label, sales_label = _("Customers"), _("Sales")
    for r in r_values:
        z.append([cells.get((r, f), (0, 0.0))[0] for f in f_values])
        text.append([fmt.number(cells.get((r, f), (0, 0.0))[0]) for f in f_values])
        hover.append([
            f"R{r} F{f}<br>{customers_label}: {fmt.number(cells.get((r, f), (0, 0.0))[0])}"
            f"<br>{sales_label}: {fmt.money(cells.get((r, f), (0, 0.0))[1], currency)}"
            for f in f_values
        ])
    return heatmap_figure(
        z=z, x=[f"F{f}" for f in f_values], y=[f"R{r}" for r in r_values],
        hover=hover, text=text, height=340,
    )


def cohort_figure(*, cohorts: pd.DataFrame) -> go.Figure | None:
    """Share of each first-purchase month's cohort buying again k months later."""
    months = [c for c in cohorts.columns if str(c).startswith("m") and c != "m0"]
    if cohorts.empty or not months:
        return None
    y = [d.strftime("%Y-%m") if hasattr(d, "strftime") else str(d) for d in cohorts.index]
    z, text, hover = [], [], []
    customers_word, not_yet = _("customers"), _("not yet")
    for label, (_idx, row) in zip(y, cohorts.iterrows(), strict=True):
        size = int(row["customers"])
        values = [None if pd.isna(row[m]) else float(row[m]) for m in months]
        z.append(values)
        text.append(["" if v is None else fmt.percent(v) for v in values])
        hover.append([
            f"{label} ({fmt.number(size)} {customers_word})<br>"
            + _("%(n)s months later") % {"n": m[1:]}
            + f": {fmt.percent(v) if v is not None else not_yet}"
            for m, v in zip(months, values, strict=True)
        ])
    finite = [v for row in z for v in row if v is not None]
    return heatmap_figure(
        z=z, x=[f"+{m[1:]}" for m in months], y=y, hover=hover, text=text,
        height=max(260, 28 * len(y) + 80), zmax=max(finite, default=1) or 1,
    )
