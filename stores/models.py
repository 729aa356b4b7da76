"""Stores, the people in them, and the data that comes in.

Money is ``numeric`` (Decimal), times are timezone-aware UTC; each store has
its own time zone and currency, and every daily rollup is bucketed by the
store's local date.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
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


class Store(models.Model):
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    platform = models.CharField(_("platform"), max_length=16, choices=Platform.choices)
    currency = models.CharField(
        _("currency"), max_length=3, default="CNY", validators=[validate_currency]
    )
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_timezone]
    )
    category = models.CharField(_("category"), max_length=100, blank=True)
    nurture_window_days = models.PositiveIntegerField(
        _("nurture window (days)"), default=90, validators=[MinValueValidator(1)]
    )
    churn_window_days = models.PositiveIntegerField(
        _("churn window (days)"), default=180, validators=[MinValueValidator(1)]
    )
    # The zone and windows the stored rollups were computed under
    # (stores.rollups.refresh.rollups_basis): others mean computing them all again.
    rollups_basis = models.CharField(max_length=100, blank=True, editable=False)
    # When the store's channel table last changed: a file loaded before then
    # may be loaded again (its names now map elsewhere), not refused as a twin.
    channels_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Learnt from the files that show it (a 13/03/2025), and used for those
    # that do not: a store's small daily export often has only days 1-12.
    date_order = models.CharField(
        _("dates like 05/03/2025"), max_length=3, blank=True, choices=DateOrder.choices,
        help_text=_(
            "How this store's files write dates whose day and month are both 12 or less. "
            "Set from the first file that shows it; a file that shows the other order changes it."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("store")
        verbose_name_plural = _("stores")

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "store"], name="membership_unique_user_store")
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} @ {self.store} ({self.role})"


class Department(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="departments")
    kind = models.CharField(_("kind"), max_length=20, choices=DepartmentKind.choices)
    name = models.CharField(_("name"), max_length=100)
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="headed_departments",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "kind"], name="department_unique_store_kind")
        ]
        ordering = ["store", "kind"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return f"{self.store}: {self.name}"


class Customer(models.Model):
    """A buyer of one store, as the platform identifies them.

    The lifetime columns are refreshed with the rollups after every load;
    ``first_paid_at`` and ``last_paid_at`` are when the first and last paid
    orders were placed (an order belongs to the day it was placed).
    """

    # The unique (store, external_id) index serves every lookup by store. As
    # for orders, the loaders set the key and Django cascades: no row-by-row
    # check at commit (a load creating 220k customers spent 0.8 s in it).
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="customers", db_index=False,
        db_constraint=False,
    )
    external_id = models.CharField(max_length=200)
    first_paid_at = models.DateTimeField(null=True, blank=True)
    last_paid_at = models.DateTimeField(null=True, blank=True)
    paid_orders = models.PositiveIntegerField(default=0)
    paid_amount = money_field(default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "external_id"], name="customer_unique_store_external_id"
            )
        ]

    def __str__(self) -> str:
        return self.external_id


class OrderStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")
    CLOSED = "closed", _("Closed")
    REFUNDED = "refunded", _("Refunded")


#: Statuses that mean the buyer paid (a refund comes after a payment).
PAID_STATUSES = (OrderStatus.PAID, OrderStatus.REFUNDED)


class Order(models.Model):
    # Orders and their lines are the tables that grow by millions; every index
    # and foreign key check costs at each load. The store and customer columns
    # are covered by the composite indexes below (every query names the store),
    # so they get no single-column index of their own. Nor does the database
    # check these keys row by row: it cost a load of a million lines 10-20 s at
    # commit. Rows reach these tables only through the loaders, which take the
    # keys from joins on the store's own rows inside the load's transaction,
    # and Django's on_delete rules (run by Django, not the database) still
    # cascade and protect; tests/stores/ingest/test_integrity.py checks both.
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="orders", db_index=False,
        db_constraint=False,
    )
    external_id = models.CharField(max_length=100)
    # Guest checkouts have no customer: each such order counts as its own new buyer.
    # RESTRICT, not PROTECT: a customer with orders cannot be deleted alone,
    # but deleting the store takes both.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="orders",
        db_index=False,
        db_constraint=False,
    )
    placed_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=OrderStatus.choices)
    amount = money_field()
    refunded_amount = money_field(default=Decimal("0"))
    items = models.IntegerField(default=0)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.OTHER)
    inquired = models.BooleanField(null=True, blank=True)
    # Which upload last wrote the order: a note for people, not a relation the
    # database has to check on every row of every load.
    upload = models.ForeignKey(
        "Upload",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "external_id"], name="order_unique_store_external_id"
            )
        ]
        indexes = [
            models.Index(fields=["store", "placed_at"], name="order_store_placed_idx"),
            models.Index(fields=["store", "customer", "placed_at"], name="order_store_cust_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES


class OrderLine(models.Model):
    # Keyed by (order, line_no) for Django and SQLite. On PostgreSQL the key is
    # held by the loaders and the table has only a block-range index on its
    # order (migration 0008): a B-tree key cost 2/3 of the lines' write.
    pk = models.CompositePrimaryKey("order", "line_no")
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="lines", db_index=False,
        db_constraint=False,
    )
    line_no = models.PositiveIntegerField()
    sku = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=500, blank=True)
    quantity = models.IntegerField()
    unit_price = money_field()
    amount = money_field()

    def __str__(self) -> str:
        return f"{self.order_id}#{self.line_no} {self.sku}"


class TrafficDaily(models.Model):
    """Visitors by day and channel, as the platform's traffic export gives them."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="traffic")
    date = models.DateField()
    channel = models.CharField(max_length=16, choices=Channel.choices)
    visitors = models.PositiveIntegerField(default=0)
    page_views = models.PositiveIntegerField(default=0)
    # None: the export does not say (stage 3 then shows "no data").
    inquirers = models.PositiveIntegerField(null=True, blank=True)
    inquiry_placers = models.PositiveIntegerField(null=True, blank=True)
    upload = models.ForeignKey(
        "Upload", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "date", "channel"], name="traffic_unique_store_date_channel"
            )
        ]
        verbose_name_plural = "traffic daily"

    def __str__(self) -> str:
        return f"{self.store_id} {self.date} {self.channel}: {self.visitors}"


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


def upload_path(instance: Upload, filename: str) -> str:
    return f"uploads/{instance.store.slug}/{filename}"


class Upload(models.Model):
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="uploads")
    kind = models.CharField(max_length=16, choices=UploadKind.choices)
    format = models.CharField(max_length=32, blank=True)
    file = models.FileField(upload_to=upload_path, max_length=500)
    original_name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64, db_index=True)
    status = models.CharField(
        max_length=16, choices=UploadStatus.choices, default=UploadStatus.PENDING
    )
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    rows_loaded = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    orders_created = models.PositiveIntegerField(default=0)
    orders_updated = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    error_report = models.FileField(upload_to="reports/", blank=True, max_length=500)
    column_mapping = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="uploads"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Why a file was refused, as a stable code (the message is in ``error``).
    error_code = models.CharField(max_length=32, blank=True)
    orders_unchanged = models.PositiveIntegerField(default=0)
    customers_created = models.PositiveIntegerField(default=0)
    # For traffic exports without a date column (Sycm's source form).
    traffic_date = models.DateField(null=True, blank=True)
    # The header found in the file, shown on the mapping form.
    columns = models.JSONField(default=list, blank=True)
    # The language the uploader's pages were in: the worker writes the error
    # and the rejected rows' reasons in it (they are stored as text).
    language = models.CharField(max_length=16, blank=True)
    # The order dates such as 05/03/2025 were read by when the file did not
    # show it ("" when it did, or had none), and where that order came from.
    date_order_assumed = models.CharField(max_length=3, blank=True, choices=DateOrder.choices)
    date_order_source = models.CharField(max_length=8, blank=True, choices=DateOrderSource.choices)
    # A traffic file's day-and-channel figures: new ones, and ones that
    # replaced what an earlier file had loaded for that day and channel.
    traffic_created = models.PositiveIntegerField(default=0)
    traffic_updated = models.PositiveIntegerField(default=0)
    # Channel names in the file that no rule knew, loaded as other: name -> rows.
    unknown_channels = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["store", "checksum"], name="upload_store_checksum_idx")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"


# ---------------------------------------------------------------------------
# Rollups: what the KPI trees are evaluated from. Refreshed by
# stores.rollups.rollups_refresh for the affected dates after every load.
# ---------------------------------------------------------------------------


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


class SalesDaily(models.Model):
    """Additive order measures by store, local date of placing, and channel."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    channel = models.CharField(max_length=16, choices=Channel.choices)
    orders_placed = models.PositiveIntegerField(default=0)
    orders_paid = models.PositiveIntegerField(default=0)
    sales = money_field(default=Decimal("0"))  # paid amount net of refunds
    gross_sales = money_field(default=Decimal("0"))
    refunds = money_field(default=Decimal("0"))
    units = models.IntegerField(default=0)  # items in paid orders
    orders_unpaid = models.PositiveIntegerField(default=0)  # placed, never paid
    unpaid_amount = money_field(default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "date", "channel"], name="salesdaily_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.date} {self.channel}"


class CustomerDaily(models.Model):
    """Distinct-customer measures, made additive within calendar periods.

    For a grain G, a row for date d counts a customer in ``placers`` (and
    ``buyers``, ``inquiry_placers``) only on the first day of d's G-period on
    which they placed (paid, placed an inquired order). So the distinct count
    over any range that starts on a G-period start and stays inside the
    period is the sum of the rows. ``segment`` is the customer's lifecycle
    state at the start of d's G-period; ``orders_paid``, ``sales`` and
    ``units`` are every paid order of that day, split by that segment.
    A guest order (no customer) counts as one new buyer.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    grain = models.CharField(max_length=8, choices=Grain.choices)
    segment = models.CharField(max_length=10, choices=Segment.choices)
    placers = models.PositiveIntegerField(default=0)
    inquiry_placers = models.PositiveIntegerField(default=0)
    buyers = models.PositiveIntegerField(default=0)
    orders_paid = models.PositiveIntegerField(default=0)
    sales = money_field(default=Decimal("0"))
    units = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "grain", "date", "segment"], name="customerdaily_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.grain} {self.date} {self.segment}"


class CustomerBaseDaily(models.Model):
    """Customer bases at the start of a local date, and lapses starting on it.

    At the start of date a, with l the customer's last paid date before a:
    nurtured = exactly one paid order so far, placed within the nurture
    window; active = a - l <= churn window and not nurtured; lapsed = a - l >
    churn window (the base that win-back works on).

    ``lapses`` counts customers whose paid day is this date and whose next
    paid day is more than the churn window later (or has not come); it is
    what the churn rate of a period is summed from. ``lapses_first`` is the
    part of it where this date was their only paid order so far.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    customers = models.PositiveIntegerField(default=0)  # with a paid order before the date
    nurtured = models.PositiveIntegerField(default=0)
    active = models.PositiveIntegerField(default=0)
    lapsed = models.PositiveIntegerField(default=0)
    lapses = models.PositiveIntegerField(default=0)
    lapses_first = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "date"], name="customerbasedaily_unique")
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.date}"


# ---------------------------------------------------------------------------
# Ingestion settings a store edits: channel names and hand-mapped columns.
# ---------------------------------------------------------------------------


class ChannelMapping(models.Model):
    """A platform's name for a traffic source or order source, mapped onto our
    channels. Rows here win over the built-in defaults (stores/ingest/channels.py)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="channel_mappings")
    source_name = models.CharField(_("platform's name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "source_name"], name="channelmapping_unique_store_source"
            )
        ]
        ordering = ["store", "source_name"]
        verbose_name = _("channel mapping")
        verbose_name_plural = _("channel mappings")

    def __str__(self) -> str:
        return f"{self.source_name} -> {self.channel}"


class ColumnMapping(models.Model):
    """An analyst's mapping of a file's columns onto ours, reused whenever a
    file with the same header comes in for the store."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="column_mappings")
    kind = models.CharField(max_length=16, choices=UploadKind.choices)
    # sha256 of the header's column names in order, to recognise the layout.
    header_key = models.CharField(max_length=64)
    columns = models.JSONField(default=list)
    mapping = models.JSONField(default=dict)  # our column -> the file's column
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "kind", "header_key"], name="columnmapping_unique_store_header"
            )
        ]
        verbose_name = _("column mapping")
        verbose_name_plural = _("column mappings")

    def __str__(self) -> str:
        return f"{self.store}: {self.kind} ({len(self.columns)} columns)"
