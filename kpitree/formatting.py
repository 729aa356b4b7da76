"""Numbers as an operator reads them: in the store's currency and the user's language.

Pages, chart hover labels and CSV-free exports all format through here, so a
figure in a table and the same figure in a tooltip never disagree.
"""

from __future__ import annotations

import math
from decimal import Decimal

from django.utils.translation import get_language

Number = float | int | Decimal | None

CURRENCY_SYMBOLS: dict[str, str] = {
    "CNY": "¥",
    "RMB": "¥",
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "JP¥",
    "HKD": "HK$",
    "TWD": "NT$",
    "KRW": "₩",
    "SGD": "S$",
    "AUD": "A$",
    "CAD": "C$",
}
MISSING = "—"
MINUS = "−"  # a real minus sign: it lines up with "+" in tabular figures


def is_zh(language: str | None = None) -> bool:
    return (language or get_language() or "en").lower().startswith("zh")


def currency_symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")


def _missing(value: Number) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _grouped(value: float, decimals: int) -> str:
    text = f"{abs(value):,.{decimals}f}"
    return (MINUS if value < 0 and float(text.replace(",", "")) != 0 else "") + text


def number(value: Number, decimals: int = 0) -> str:
    """12345.6 -> '12,346'. Chinese and English both group digits by three."""
    if value is None or _missing(value):
        return MISSING
    return _grouped(float(value), decimals)


def compact(value: Number, language: str | None = None) -> str:
    """Short form for chips and axis-like labels: 1.2M / 120.5万, 3.4亿."""
    if value is None or _missing(value):
        return MISSING
    v = float(value)
    sign = MINUS if v < 0 else ""
    a = abs(v)
    if is_zh(language):
        if a >= 1e8:
            return f"{sign}{a / 1e8:.2f}亿"
        if a >= 1e4:
            return f"{sign}{a / 1e4:.1f}万"
        return f"{sign}{a:,.0f}"
    if a >= 1e9:
        return f"{sign}{a / 1e9:.2f}B"
    if a >= 1e6:
        return f"{sign}{a / 1e6:.2f}M"
    if a >= 1e4:
        return f"{sign}{a / 1e3:.1f}k"
    return f"{sign}{a:,.0f}"


def money(value: Number, currency: str, decimals: int = 0) -> str:
    if value is None or _missing(value):
        return MISSING
    v = float(value)
    return (MINUS if v < 0 else "") + currency_symbol(currency) + _grouped(abs(v), decimals)


def money_compact(value: Number, currency: str, language: str | None = None) -> str:
    if value is None or _missing(value):
        return MISSING
    v = float(value)
    return (MINUS if v < 0 else "") + currency_symbol(currency) + compact(abs(v), language)


def signed_money(value: Number, currency: str) -> str:
    """A change in money, always signed: +¥1,200 / −¥300."""
    if value is None or _missing(value):
        return MISSING
    v = float(value)
    return ("+" if v >= 0 else MINUS) + currency_symbol(currency) + _grouped(abs(v), 0)


def percent(value: Number, decimals: int = 1) -> str:
    """A share given as a fraction: 0.0342 -> '3.4%'."""
    if value is None or _missing(value):
        return MISSING
    return _grouped(float(value) * 100, decimals) + "%"


def change_percent(value: Number, decimals: int = 1) -> str:
    """A relative change given as a fraction, always signed: +4.2% / −1.0%."""
    if value is None or _missing(value):
        return MISSING
    v = float(value) * 100
    return ("+" if v >= 0 else MINUS) + f"{abs(v):,.{decimals}f}%"


def metric(value: Number, unit: str, currency: str) -> str:
    """A metric value in its unit (count, rate, money, ratio)."""
    if unit == "money":
        # Sales are large; order values and prices want their cents.
        decimals = 2 if value is not None and not _missing(value) and abs(float(value)) < 1000 else 0
        return money(value, currency, decimals)
    if unit == "rate":
        # Conversion rates are often below 5%: two decimals keep them apart.
        return percent(value, 2)
    if unit == "ratio":
        return number(value, 2)
    return number(value, 0)


def metric_change(change: Number, unit: str, currency: str) -> str:
    """An absolute change in a metric's unit: money signed, rates in points."""
    if change is None or _missing(change):
        return MISSING
    v = float(change)
    sign = "+" if v >= 0 else MINUS
    if unit == "money":
        return sign + currency_symbol(currency) + _grouped(abs(v), 2 if abs(v) < 1000 else 0)
    if unit == "rate":
        return sign + f"{abs(v) * 100:.2f}" + (" 个百分点" if is_zh() else " pt")
    if unit == "ratio":
        return sign + f"{abs(v):,.2f}"
    return sign + f"{abs(v):,.0f}"


def localized_name(obj: object, language: str | None = None) -> str:
    """``name_zh`` or ``name_en`` of anything that has both, by the active language."""
    attr = "name_zh" if is_zh(language) else "name_en"
    return str(getattr(obj, attr, None) or getattr(obj, "name_en", ""))
