"""KPI trees as nested metrics, targets per department, and attainment alerts.

The trees are stored so that they can be read and extended in the admin; the
default funnel and customer trees are created by a data migration from
``kpitree.engine.trees``, which stays the single source of their shape.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from stores.models import DepartmentKind, Store


class Unit(models.TextChoices):
    COUNT = "count", _("Count")
    RATE = "rate", _("Rate")
    MONEY = "money", _("Money")
    RATIO = "ratio", _("Ratio")


class Operator(models.TextChoices):
    SUM = "sum", _("Sum of children")
    PRODUCT = "product", _("Product of children")
    LEAF = "leaf", _("Leaf")


class MetricTree(models.Model):
    key = models.SlugField(max_length=32, unique=True)
    name_en = models.CharField(max_length=100)
    name_zh = models.CharField(max_length=100)

    class Meta:
        verbose_name = _("KPI tree")
        verbose_name_plural = _("KPI trees")

    def __str__(self) -> str:
        return self.name_en


class MetricNode(models.Model):
    tree = models.ForeignKey(MetricTree, on_delete=models.CASCADE, related_name="nodes")
    key = models.CharField(max_length=64)
    name_en = models.CharField(max_length=100)
    name_zh = models.CharField(max_length=100)
    unit = models.CharField(max_length=8, choices=Unit.choices)
    operator = models.CharField(max_length=8, choices=Operator.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    position = models.PositiveIntegerField(default=0)  # display order among siblings
    stage = models.PositiveSmallIntegerField(null=True, blank=True)  # 1..7, DOMAIN.md section 2
    department = models.CharField(max_length=20, choices=DepartmentKind.choices, blank=True)
    higher_is_better = models.BooleanField(default=True)

    class Meta:
        ordering = ["tree", "position"]
        constraints = [
            models.UniqueConstraint(fields=["tree", "key"], name="metricnode_unique_tree_key")
        ]
        verbose_name = _("KPI node")
        verbose_name_plural = _("KPI nodes")

    def __str__(self) -> str:
        return f"{self.tree.key}:{self.key}"


class Target(models.Model):
    """A target for one metric of one store's department over a period.

    Changing a target never overwrites it: the old row is closed
    (``superseded_at``) and a new one is written, so history is kept.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="targets")
    department = models.CharField(max_length=20, choices=DepartmentKind.choices)
    metric = models.CharField(max_length=64)  # a node key of the funnel or customer tree
    tree = models.CharField(max_length=32, default="funnel")
    period_start = models.DateField()
    period_end = models.DateField()  # inclusive, store-local
    value = models.DecimalField(max_digits=24, decimal_places=8)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    set_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["store", "period_start", "metric", "-set_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "tree", "metric", "period_start", "period_end"],
                condition=models.Q(superseded_at__isnull=True),
                name="target_one_current_per_metric_period",
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="target_period_ordered",
            ),
        ]
        indexes = [models.Index(fields=["store", "period_start"], name="target_store_period_idx")]

    def __str__(self) -> str:
        return f"{self.store} {self.metric} {self.period_start}..{self.period_end} = {self.value}"


class AttainmentAlert(models.Model):
    """Recorded by the daily attainment job when a target's status turns red."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="alerts")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="alerts")
    date = models.DateField()  # the store-local day the job saw it
    status = models.CharField(max_length=8)
    actual = models.DecimalField(max_digits=24, decimal_places=8, null=True)
    projected = models.DecimalField(max_digits=24, decimal_places=8, null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["target", "date"], name="alert_unique_target_date")
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.target_id} {self.date}: {self.status}"
