"""The fixed vocabularies (channels, roles, statuses, date orders...), the
validators of a store's zone and currency, and the money column."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def money_field(**kwargs: Any) -> models.DecimalField[Decimal, Decimal]:
    """A money column: numeric(16, 2), read and written as Decimal."""
    return models.DecimalField(max_digits=16, decimal_places=2, **kwargs)


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(_("%(tz)s is not an IANA time zone"), params={"tz": value}) from exc


def validate_currency(value: str) -> None:
    if len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ValidationError(_("Currency must be a three-letter ISO 4217 code such as CNY"))


class Platform(models.TextChoices):
    TAOBAO = "taobao", _("Taobao")
    TMALL = "tmall", _("Tmall")
    JD = "jd", _("JD")
    SHOPIFY = "shopify", _("Shopify")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    """Acquisition channels (DOMAIN.md section 2); keys are used in tree node keys."""

    SEARCH = "search", _("Search promotion")
    CPS = "cps", _("Affiliate / CPS")
    COMMUNITY = "community", _("Community and social")
    ADS = "ads", _("Display ads")
    ACTIVITY = "activity", _("Activities and group buying")
    OTHER = "other", _("Organic and other")


class Role(models.TextChoices):
    OPERATOR = "operator", _("Operator")
    MANAGER = "manager", _("Manager")
    ANALYST = "analyst", _("Analyst")


class DepartmentKind(models.TextChoices):
    PROMOTION = "promotion", _("Promotion")
    STOREFRONT = "storefront", _("Storefront pages")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")
    CRM = "crm", _("Database marketing (CRM)")


class DateOrder(models.TextChoices):
    """How a store's files write dates such as 05/03/2025."""

    UNKNOWN = "", _("not known yet")
    DMY = "dmy", _("day first: 5 March")
    MDY = "mdy", _("month first: May 3")

    @classmethod
    def of(cls, day_first: bool) -> DateOrder:
        return cls.DMY if day_first else cls.MDY

    @property
    def day_first(self) -> bool | None:
        """True for day first, False for month first, None when not known."""
        return None if self is DateOrder.UNKNOWN else self is DateOrder.DMY


class DateOrderSource(models.TextChoices):
    """Why an upload's ambiguous dates were read the way they were."""

    STORE = "store", _("the store's date order")
    RULE = "rule", _("the default rule")


class OrderStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")
    CLOSED = "closed", _("Closed")
    REFUNDED = "refunded", _("Refunded")


#: Statuses that mean the buyer paid (a refund comes after a payment).
PAID_STATUSES = (OrderStatus.PAID, OrderStatus.REFUNDED)


class UploadKind(models.TextChoices):
    ORDERS = "orders", _("Orders")
    TRAFFIC = "traffic", _("Traffic")


class UploadStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Loading")
    NEEDS_MAPPING = "needs_mapping", _("Needs column mapping")
    LOADED = "loaded", _("Loaded")
    DUPLICATE = "duplicate", _("Already loaded")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


class Grain(models.TextChoices):
    """Calendar periods in the store's time zone. Weeks start on Monday."""

    DAY = "day", _("Day")
    WEEK = "week", _("Week")
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")
    YEAR = "year", _("Year")


class Segment(models.TextChoices):
    """Lifecycle segment of a buyer, by paid history before a period starts."""

    NEW = "new", _("New")
    NURTURED = "nurtured", _("Nurtured")
    ACTIVE = "active", _("Active")
    WON_BACK = "won_back", _("Won back")
