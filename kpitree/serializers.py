"""Query parameters and response shapes of the KPI API (documented by drf-spectacular)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from kpitree.bases import BASE_KINDS
from kpitree.customers import LIFECYCLE_STATES, RFM_SEGMENTS
from kpitree.periods import PRESETS

# ---------------------------------------------------------------- parameters


class PeriodQuerySerializer(serializers.Serializer):
    """Either ``start`` and ``end`` (store-local dates, inclusive) or a ``preset``."""

    preset = serializers.ChoiceField(choices=PRESETS, required=False,
                                     help_text="Default this_month when no dates are given.")
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if (start is None) != (end is None):
            raise serializers.ValidationError("give both start and end, or neither")
        if start is not None and end is not None:
            if end < start:
                raise serializers.ValidationError("end is before start")
            if (end - start).days > 3 * 366:
                raise serializers.ValidationError("a period is at most three years long")
            attrs["preset"] = "custom"
        elif attrs.get("preset") == "custom":
            raise serializers.ValidationError("a custom period needs start and end")
        attrs.setdefault("preset", "this_month")
        return attrs


class TreeQuerySerializer(PeriodQuerySerializer):
    tree = serializers.ChoiceField(choices=("funnel", "customer"), default="funnel")


class DiagnosisQuerySerializer(PeriodQuerySerializer):
    base = serializers.ChoiceField(choices=BASE_KINDS, default="previous")


class RfmQuerySerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="Store-local date; default today.")
    segment = serializers.ChoiceField(choices=RFM_SEGMENTS, required=False, help_text="RFM segment.")
    lifecycle = serializers.ChoiceField(
        choices=LIFECYCLE_STATES, required=False, help_text="Lifecycle state (with segment: both)."
    )
    page = serializers.IntegerField(min_value=1, default=1)
    page_size = serializers.IntegerField(min_value=1, max_value=1000, default=100)


class CohortQuerySerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError("end is before start")
        return attrs


# ----------------------------------------------------------------- responses


class StoreSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    platform = serializers.CharField()
    currency = serializers.CharField()
    timezone = serializers.CharField()
    category = serializers.CharField()


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # DRF pops declared fields


class TreeNodeSerializer(serializers.Serializer):
    key = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()
    unit = serializers.CharField()
    op = serializers.CharField()
    parent = serializers.CharField(allow_null=True)  # type: ignore[assignment]
    depth = serializers.IntegerField()
    value = serializers.FloatField(allow_null=True)
    given = serializers.BooleanField(help_text="Taken from the data rather than its children.")


class TreeSerializer(serializers.Serializer):
    store = serializers.SlugField()
    tree = serializers.CharField()
    period = PeriodSerializer()
    exact_from = serializers.ChoiceField(choices=("rollups", "orders"))
    nodes = TreeNodeSerializer(many=True)


class NodeRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()
    unit = serializers.CharField()
    op = serializers.CharField()
    parent = serializers.CharField(allow_null=True)  # type: ignore[assignment]
    depth = serializers.IntegerField()
    stage = serializers.IntegerField(allow_null=True)
    department = serializers.CharField(allow_null=True)
    higher_is_better = serializers.BooleanField()
    value = serializers.FloatField(allow_null=True)
    base_value = serializers.FloatField(allow_null=True)
    change = serializers.FloatField(allow_null=True)
    change_pct = serializers.FloatField(allow_null=True)
    contribution = serializers.FloatField(allow_null=True)
    is_leaf_of_decomposition = serializers.BooleanField()
    status = serializers.CharField(allow_null=True)
    missing = serializers.BooleanField()


class TreeDiagnosisSerializer(serializers.Serializer):
    key = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()
    nodes = NodeRowSerializer(many=True)
    total_change = serializers.FloatField(allow_null=True)
    contributions_sum = serializers.FloatField(allow_null=True)
    identity_ok = serializers.BooleanField()


class MetricRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()
    unit = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    base_value = serializers.FloatField(allow_null=True)
    change_pct = serializers.FloatField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    higher_is_better = serializers.BooleanField()
    sales_at_stake = serializers.FloatField(allow_null=True)


class StageRowSerializer(serializers.Serializer):
    stage = serializers.IntegerField()
    key = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()
    department = serializers.CharField()
    metrics = MetricRowSerializer(many=True)
    sales_at_stake = serializers.FloatField()
    status = serializers.CharField(allow_null=True)
    actions_en = serializers.ListField(child=serializers.CharField())
    actions_zh = serializers.ListField(child=serializers.CharField())
    no_data = serializers.BooleanField()


class DiagnosisSerializer(serializers.Serializer):
    store_slug = serializers.SlugField()
    currency = serializers.CharField()
    period = PeriodSerializer()
    base_kind = serializers.CharField()
    base_period = PeriodSerializer(allow_null=True)
    base_available = serializers.BooleanField()
    base_note = serializers.CharField(allow_blank=True)
    exact_from = serializers.ChoiceField(choices=("rollups", "orders"),
                                         help_text="Where the distinct customer counts came from.")
    trees = serializers.DictField(child=TreeDiagnosisSerializer())
    scorecard = StageRowSerializer(many=True)
    shortest_stave = serializers.IntegerField(allow_null=True)
    sales = serializers.FloatField()
    base_sales = serializers.FloatField(allow_null=True)


class RfmRowSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    external_id = serializers.CharField()
    recency_days = serializers.IntegerField()
    frequency = serializers.IntegerField()
    monetary = serializers.FloatField()
    r_score = serializers.IntegerField()
    f_score = serializers.IntegerField()
    m_score = serializers.IntegerField()
    rfm_score = serializers.CharField()
    segment = serializers.ChoiceField(choices=RFM_SEGMENTS)
    lifecycle = serializers.ChoiceField(choices=LIFECYCLE_STATES)


class RfmPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    as_of = serializers.DateField()
    results = RfmRowSerializer(many=True)


class CohortRowSerializer(serializers.Serializer):
    cohort = serializers.DateField(help_text="First day of the first-purchase month.")
    customers = serializers.IntegerField()
    retention = serializers.ListField(
        child=serializers.FloatField(allow_null=True),
        help_text="Share buying in month k after the first (k = 0, 1, ...); null = not yet.",
    )


class CohortsSerializer(serializers.Serializer):
    store = serializers.SlugField()
    start = serializers.DateField()
    end = serializers.DateField()
    cohorts = CohortRowSerializer(many=True)


class PingSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
