"""JSON API for uploads: POST a file, then poll its status."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from stores.ingest.formats import FORMAT_CHOICES
from stores.ingest.selectors import upload_get_for_user, upload_store_get_for_user
from stores.models import Upload, UploadKind
from stores.services import NothingToReread, upload_create, upload_reread_dates


class UploadCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=UploadKind.choices, default=UploadKind.ORDERS)
    format = serializers.ChoiceField(choices=FORMAT_CHOICES, default="auto")
    date = serializers.DateField(required=False, allow_null=True)


class UploadSerializer(serializers.ModelSerializer):
    store: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    duplicate_file = serializers.SerializerMethodField()
    rejected_rows_url = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = [
            "id", "store", "kind", "format", "original_name", "status", "rows_total", "rows_done",
            "rows_read", "rows_loaded", "rows_rejected", "orders_created", "orders_updated",
            "orders_unchanged", "customers_created", "duplicate_file", "duplicate_of", "error",
            "error_code", "columns", "attempts", "created_at", "started_at", "finished_at",
            "rejected_rows_url", "url", "date_order_assumed", "date_order_source",
            "traffic_created", "traffic_updated", "unknown_channels",
        ]

    def get_duplicate_file(self, obj: Upload) -> bool:
        return obj.status == "duplicate"

    def get_rejected_rows_url(self, obj: Upload) -> str | None:
        if not obj.error_report:
            return None
        return reverse("stores:upload_report", kwargs={"slug": obj.store.slug, "upload_id": obj.pk})

    def get_url(self, obj: Upload) -> str:
        return reverse("stores:api_upload_detail", kwargs={"upload_id": obj.pk})


@extend_schema(request=UploadCreateSerializer, responses={202: UploadSerializer})
@api_view(["POST"])
@parser_classes([MultiPartParser, FormParser])
def upload_create_api(request: Request, slug: str) -> Response:
    store = upload_store_get_for_user(user=request.user, slug=slug)
    serializer = UploadCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data: dict[str, Any] = serializer.validated_data
    upload = upload_create(
        store=store,
        file=data["file"],
        name=data["file"].name,
        kind=data["kind"],
        format_key=data["format"],
        traffic_date=data.get("date"),
        user=request.user,
    )
    upload.refresh_from_db()
    return Response(UploadSerializer(upload).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(responses=UploadSerializer)
@api_view(["GET"])
def upload_detail_api(request: Request, upload_id: int) -> Response:
    upload = upload_get_for_user(user=request.user, upload_id=upload_id)
    return Response(UploadSerializer(upload).data)


@extend_schema(request=None, responses={202: UploadSerializer})
@api_view(["POST"])
def upload_reread_dates_api(request: Request, upload_id: int) -> Response:
    """Read the upload's dates such as 05/03/2025 the other way: the store
    takes that order and the file is loaded again as a new upload."""
    upload = upload_get_for_user(user=request.user, upload_id=upload_id)
    try:
        again = upload_reread_dates(upload=upload, user=request.user)
    except NothingToReread as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    again.refresh_from_db()
    return Response(UploadSerializer(again).data, status=status.HTTP_202_ACCEPTED)
