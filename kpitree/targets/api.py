"""JSON API beside the targets pages."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import PermissionDenied
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from kpitree.engine import DEFAULT_TREES
from kpitree.models import Target
from kpitree.periods import Period, store_today
from kpitree.targets.allocation import RULES, AllocationError
from kpitree.targets.attainment import attainment_list
from kpitree.targets.selectors import allocation_propose
from kpitree.targets.services import target_set, user_may_set_targets
from stores.selectors import store_get_for_user


class TargetSerializer(serializers.ModelSerializer):
    set_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True)

    class Meta:
        model = Target
        fields = ["id", "tree", "metric", "department", "period_start", "period_end", "value",
                  "set_by", "set_at", "superseded_at", "note"]


class AttainmentSerializer(serializers.Serializer):
    target = TargetSerializer()
    actual = serializers.FloatField(allow_null=True)
    projected = serializers.FloatField(allow_null=True)
    pace_basis = serializers.CharField()
    status = serializers.CharField(allow_null=True)
    gap_money = serializers.FloatField(allow_null=True)
    elapsed_days = serializers.IntegerField()
    period_days = serializers.IntegerField()


class TargetInSerializer(serializers.Serializer):
    tree = serializers.ChoiceField(choices=list(DEFAULT_TREES), default="funnel")
    metric = serializers.CharField(max_length=64)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    value = serializers.DecimalField(max_digits=24, decimal_places=8, min_value=0)
    department = serializers.CharField(max_length=20, required=False)
    note = serializers.CharField(max_length=200, required=False, default="")


class AllocateInSerializer(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    sales_target = serializers.FloatField(min_value=0.01)
    rule = serializers.ChoiceField(choices=list(RULES), default="equal")
    fixed = serializers.DictField(child=serializers.FloatField(min_value=0), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["period_end"] < attrs["period_start"]:
            raise serializers.ValidationError("the period ends before it starts")
        return attrs


class AllocationSerializer(serializers.Serializer):
    tree = serializers.CharField()
    rule = serializers.CharField()
    sales_target = serializers.FloatField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    targets = serializers.DictField(child=serializers.FloatField(allow_null=True))
    recent = serializers.DictField(child=serializers.FloatField(allow_null=True))
    fixed = serializers.ListField(child=serializers.CharField())


@extend_schema(methods=["GET"], responses=AttainmentSerializer(many=True),
               description="Current targets of the store with their attainment.")
@extend_schema(methods=["POST"], request=TargetInSerializer, responses={201: TargetSerializer},
               description="Set one target (managers only); the previous one is kept as history.")
@api_view(["GET", "POST"])
def targets_api(request: Request, slug: str) -> Response:
    store = store_get_for_user(user=request.user, slug=slug)
    if request.method == "GET":
        return Response(AttainmentSerializer(attainment_list(store=store), many=True).data)
    if not user_may_set_targets(user=request.user, store=store):
        raise PermissionDenied("only the store's managers may set targets")
    serializer = TargetInSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        target = target_set(store=store, user=request.user, **serializer.validated_data)
    except ValidationError as exc:
        raise ApiValidationError(exc.messages) from exc
    return Response(TargetSerializer(target).data, status=status.HTTP_201_CREATED)


@extend_schema(request=AllocateInSerializer, responses=AllocationSerializer,
               description="Propose a target for every node of the funnel tree that multiplies "
                           "and adds up exactly to the sales target; nodes in `fixed` are kept.")
@api_view(["POST"])
def allocate_api(request: Request, slug: str) -> Response:
    store = store_get_for_user(user=request.user, slug=slug)
    if not user_may_set_targets(user=request.user, store=store):
        raise PermissionDenied("only the store's managers may allocate targets")
    serializer = AllocateInSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    period = Period(data["period_start"], data["period_end"])
    try:
        allocation = allocation_propose(store=store, period=period,
                                        sales_target=data["sales_target"], rule=data["rule"],
                                        today=store_today(store), fixed=data.get("fixed"))
    except AllocationError as exc:
        raise ApiValidationError({"detail": str(exc)}) from exc
    payload = {"tree": "funnel", "rule": allocation.rule, "sales_target": allocation.sales_target,
               "period_start": period.start, "period_end": period.end,
               "targets": allocation.targets, "recent": allocation.recent,
               "fixed": sorted(allocation.fixed)}
    return Response(AllocationSerializer(payload).data)
