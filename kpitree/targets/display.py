"""What the targets pages show of a row: names by language, numbers in their unit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from kpitree import formatting as fmt
from kpitree.engine import DEFAULT_TREES
from kpitree.models import AttainmentAlert, Target
from kpitree.targets.attainment import Attainment, DepartmentScorecard
from kpitree.targets.selectors import alert_list
from stores.models import Store

PACE_LABELS = {
    "final": _("final"),
    "last_year": _("last year's daily shape"),
    "linear": _("linear by days"),
    "not_started": _("not started"),
}


@dataclass(frozen=True)
class AttainmentLine:
    metric: str
    name: str
    department: str
    period: str
    target: str
    actual: str
    projected: str
    attainment: str
    pace: str
    status: str
    gap: str
    trend: str = ""


def attainment_line(row: Attainment, currency: str, trend: float | None = None) -> AttainmentLine:
    unit = row.node.unit
    t = row.target
    return AttainmentLine(
        metric=row.node.key,
        name=fmt.localized_name(row.node),
        department=t.department,
        period=f"{t.period_start:%Y-%m-%d} – {t.period_end:%Y-%m-%d}",
        target=fmt.metric(row.target_value, unit, currency),
        actual=fmt.metric(row.actual, unit, currency),
        projected=fmt.metric(row.projected, unit, currency),
        attainment=fmt.percent(row.attainment),
        pace=f"{PACE_LABELS[row.pace_basis]} ({row.elapsed_days}/{row.period_days})",
        status=row.status or "none",
        gap="—" if row.gap_money is None else fmt.signed_money(row.gap_money, currency),
        trend=fmt.change_percent(trend) if trend is not None else "—",
    )


def attainment_lines(rows: list[Attainment], currency: str) -> list[AttainmentLine]:
    return [attainment_line(r, currency) for r in rows]


@dataclass(frozen=True)
class ScorecardView:
    department: str
    label: str
    sales_at_stake: str
    status: str
    lines: list[AttainmentLine]


def scorecard_views(cards: list[DepartmentScorecard], currency: str) -> list[ScorecardView]:
    return [
        ScorecardView(
            department=c.department, label=c.label,
            sales_at_stake=fmt.money(c.sales_at_stake, currency), status=c.worst_status or "none",
            lines=[attainment_line(r, currency, c.trend[r.node.key].change
                                   if r.node.key in c.trend else None) for r in c.rows],
        )
        for c in cards
    ]


def metric_text(tree: str, metric: str, value: float | None, currency: str) -> str:
    spec = DEFAULT_TREES.get(tree)
    unit = spec[metric].unit if spec is not None and metric in spec else "ratio"
    return fmt.metric(value, unit, currency)


def node_name(tree: str, metric: str) -> str:
    spec = DEFAULT_TREES.get(tree)
    return fmt.localized_name(spec[metric]) if spec is not None and metric in spec else metric


@dataclass(frozen=True)
class AlertLine:
    date: str
    metric: str
    name: str
    period: str
    target: str
    projected: str


def alert_lines(alerts: Iterable[AttainmentAlert], currency: str) -> list[AlertLine]:
    out = []
    for a in alerts:
        t = a.target
        projected = None if a.projected is None else float(a.projected)
        out.append(AlertLine(
            date=f"{a.date:%Y-%m-%d}", metric=t.metric, name=node_name(t.tree, t.metric),
            period=f"{t.period_start:%Y-%m-%d} – {t.period_end:%Y-%m-%d}",
            target=metric_text(t.tree, t.metric, float(t.value), currency),
            projected=metric_text(t.tree, t.metric, projected, currency),
        ))
    return out


def alerts_for_display(*, store: Store, limit: int = 20) -> list[AlertLine]:
    """The store's latest red alerts, ready for ``kpitree/targets/_alerts.html``."""
    return alert_lines(alert_list(store=store, limit=limit), store.currency)


@dataclass(frozen=True)
class HistoryLine:
    metric: str
    name: str
    department: str
    period: str
    value: str
    set_by: str
    set_at: dt.datetime
    current: bool
    note: str


def history_lines(targets: Iterable[Target], currency: str) -> list[HistoryLine]:
    return [
        HistoryLine(
            metric=t.metric, name=node_name(t.tree, t.metric), department=t.department,
            period=f"{t.period_start:%Y-%m-%d} – {t.period_end:%Y-%m-%d}",
            value=metric_text(t.tree, t.metric, float(t.value), currency),
            set_by=t.set_by.get_username() if t.set_by else "—", set_at=t.set_at,
            current=t.superseded_at is None, note=t.note,
        )
        for t in targets
    ]
