"""Template filters that format numbers and names the way ``kpitree.formatting`` does."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from kpitree import formatting as fmt

register = template.Library()


@register.filter
def money(value: fmt.Number, currency: str) -> str:
    return fmt.money(value, currency)


@register.filter
def money_compact(value: fmt.Number, currency: str) -> str:
    return fmt.money_compact(value, currency)


@register.filter
def signed_money(value: fmt.Number, currency: str) -> str:
    return fmt.signed_money(value, currency)


@register.filter
def number(value: fmt.Number) -> str:
    return fmt.number(value)


@register.filter
def pct(value: fmt.Number) -> str:
    return fmt.percent(value)


@register.filter
def change_pct(value: fmt.Number) -> str:
    return fmt.change_percent(value)


@register.filter
def metric_value(row: Any, currency: str) -> str:
    """A row's ``value`` in its unit."""
    return fmt.metric(row.value, row.unit, currency)


@register.filter
def metric_base(row: Any, currency: str) -> str:
    return fmt.metric(row.base_value, row.unit, currency)


@register.filter
def metric_change(row: Any, currency: str) -> str:
    return fmt.metric_change(row.change, row.unit, currency)


@register.filter
def name(obj: Any) -> str:
    """``name_zh`` in Chinese, ``name_en`` otherwise."""
    return fmt.localized_name(obj)


@register.filter
def trend_class(value: fmt.Number) -> str:
    if value is None or not isinstance(value, int | float) and value != value:
        return "flat"
    number_ = float(value)
    return "up" if number_ > 0 else "down" if number_ < 0 else "flat"


@register.filter
def status_label(status: str | None) -> str:
    labels = {
        "green": pgettext("status", "On track"),
        "amber": pgettext("status", "Watch"),
        "red": pgettext("status", "Behind"),
    }
    return labels.get(status or "", pgettext("status", "No data"))


@register.filter
def status_css(status: str | None) -> str:
    return status if status in ("green", "amber", "red") else "none"


@register.filter
def department_label(key: str | None) -> str:
    labels = {
        "promotion": _("Promotion"),
        "storefront": _("Storefront pages"),
        "customer_service": _("Customer service"),
        "crm": _("Database marketing (CRM)"),
    }
    return labels.get(key or "", "—")


@register.filter
def stage_number(stage: int | None) -> str:
    return "" if stage is None else str(stage)
