"""The data that comes in: customers, orders and their lines, daily traffic."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from stores.models.choices import PAID_STATUSES, Channel, OrderStatus, money_field
from stores.models.store import Store


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
