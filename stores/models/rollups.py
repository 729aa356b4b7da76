"""The daily rollups everything is evaluated from, refreshed by
stores.rollups after every load."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from stores.models.choices import Channel, Grain, Segment, money_field
from stores.models.store import Store


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
