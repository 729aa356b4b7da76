"""JSON API of the KPI trees: thin views over kpitree.selectors and kpitree.customers.

Every store-scoped endpoint resolves the store through store_get_for_user
first, so a store the user is not a member of answers 404 whatever the
parameters; then bad parameters answer 400 with the reason.
"""

from __future__ import annotations

import math
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from kpitree import serializers as s
from kpitree.bases import TREES
from kpitree.customers import cohort_retention, rfm_table, select_customers
from kpitree.periods import Period, PeriodError, period_resolve, store_today
from kpitree.selectors import diagnosis_get, tree_evaluate
from stores.models import Store
from stores.selectors import store_get_for_user, store_list_for_user


def _params(serializer_class: type[s.serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _period(store: Store, params: dict[str, Any]) -> Period:
    try:
        return period_resolve(preset=params["preset"], start=params.get("start"),
                              end=params.get("end"), today=store_today(store))
    except PeriodError as exc:
        raise ValidationError({"detail": str(exc)}) from exc


def _period_json(period: Period) -> dict[str, Any]:
    return s.PeriodSerializer(period).data


_PERIOD_PARAMS = [
    OpenApiParameter("start", str, description="YYYY-MM-DD, store-local, inclusive"),
    OpenApiParameter("end", str, description="YYYY-MM-DD, store-local, inclusive"),
    OpenApiParameter("preset", str, enum=list(s.PRESETS)),
]


@extend_schema(responses=s.PingSerializer)
@api_view(["GET"])
def ping_api(request: Request) -> Response:
    """A trivial authenticated endpoint, the baseline for benchmarks."""
    return Response({"ok": True})


@extend_schema(responses=s.StoreSerializer(many=True))
@api_view(["GET"])
def store_list_api(request: Request) -> Response:
    """The stores the user is a member of."""
    stores = store_list_for_user(user=request.user).order_by("name")
    return Response(s.StoreSerializer(stores, many=True).data)


@extend_schema(
    parameters=[*_PERIOD_PARAMS, OpenApiParameter("tree", str, enum=list(TREES))],
    responses=s.TreeSerializer,
)
@api_view(["GET"])
def tree_api(request: Request, slug: str) -> Response:
    """Every node of the funnel or customer tree for a period."""
    store = store_get_for_user(user=request.user, slug=slug)
    params = _params(s.TreeQuerySerializer, request)
    period = _period(store, params)
    spec = TREES[params["tree"]]
    values = tree_evaluate(store=store, tree=spec.key, period=period)
    nodes = [
        {"key": k, "name_en": n.name_en, "name_zh": n.name_zh, "unit": n.unit, "op": n.op,
         "parent": spec.parent(k), "depth": len(spec.ancestors(k)), "value": values[k],
         "given": k in values.given}
        for k, n in spec.nodes.items()
    ]
    payload = {"store": store.slug, "tree": spec.key, "period": period,
               "exact_from": "rollups" if period.grain is not None else "orders", "nodes": nodes}
    return Response(s.TreeSerializer(payload).data)


@extend_schema(
    parameters=[*_PERIOD_PARAMS, OpenApiParameter("base", str, enum=list(s.BASE_KINDS))],
    responses=s.DiagnosisSerializer,
)
@api_view(["GET"])
def diagnosis_api(request: Request, slug: str) -> Response:
    """Both trees against a base, the exact decomposition of the change, and the scorecard."""
    store = store_get_for_user(user=request.user, slug=slug)
    params = _params(s.DiagnosisQuerySerializer, request)
    diagnosis = diagnosis_get(store=store, period=_period(store, params), base=params["base"])
    return Response(s.DiagnosisSerializer(diagnosis).data)


@extend_schema(parameters=[s.RfmQuerySerializer], responses=s.RfmPageSerializer)
@api_view(["GET"])
def rfm_api(request: Request, slug: str) -> Response:
    """RFM scores, segment and lifecycle state per customer, a page at a time."""
    store = store_get_for_user(user=request.user, slug=slug)
    params = _params(s.RfmQuerySerializer, request)
    as_of = params.get("as_of") or store_today(store)
    table = rfm_table(store=store, as_of=as_of)
    table = select_customers(table, segment=params.get("segment"), lifecycle=params.get("lifecycle"))
    page, size = params["page"], params["page_size"]
    pages = max(1, math.ceil(len(table) / size))
    if page > pages:
        raise ValidationError({"page": f"there are {pages} page(s)"})
    rows = table.iloc[(page - 1) * size: page * size].to_dict("records")

    def link(number: int) -> str | None:
        if not 1 <= number <= pages or number == page:
            return None
        query = request.query_params.copy()
        query["page"] = str(number)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    payload = {"count": len(table), "page": page, "page_size": size, "next": link(page + 1),
               "previous": link(page - 1), "as_of": as_of, "results": rows}
    return Response(s.RfmPageSerializer(payload).data)


@extend_schema(parameters=[s.CohortQuerySerializer], responses=s.CohortsSerializer)
@api_view(["GET"])
def cohorts_api(request: Request, slug: str) -> Response:
    """Cohort retention: customers by first-purchase month, share buying again each month."""
    store = store_get_for_user(user=request.user, slug=slug)
    params = _params(s.CohortQuerySerializer, request)
    table = cohort_retention(store=store, start=params["start"], end=params["end"])
    months = [c for c in table.columns if c != "customers"]
    cohorts = [
        {"cohort": cohort, "customers": int(row["customers"]),
         "retention": [None if math.isnan(row[m]) else float(row[m]) for m in months]}
        for cohort, row in table.iterrows()
    ]
    payload = {"store": store.slug, "start": params["start"], "end": params["end"],
               "cohorts": cohorts}
    return Response(s.CohortsSerializer(payload).data)
