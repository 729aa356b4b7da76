from __future__ import annotations

from django.urls import path

from stores import api, views

app_name = "stores"

urlpatterns = [
    path("stores/", views.store_list, name="store_list"),
    path("stores/<slug:slug>/uploads/", views.upload_list, name="upload_list"),
    path("stores/<slug:slug>/channels/", views.channel_table_view, name="channel_table"),
    path("stores/<slug:slug>/settings/", views.store_settings, name="store_settings"),
    path("stores/<slug:slug>/uploads/<int:upload_id>/", views.upload_detail, name="upload_detail"),
    path(
        "stores/<slug:slug>/uploads/<int:upload_id>/reread-dates/",
        views.upload_reread_dates_view,
        name="upload_reread_dates",
    ),
    path(
        "stores/<slug:slug>/uploads/<int:upload_id>/rejected-rows.csv",
        views.upload_report,
        name="upload_report",
    ),
    path("api/stores/<slug:slug>/uploads/", api.upload_create_api, name="api_upload_create"),
    path("api/uploads/<int:upload_id>/", api.upload_detail_api, name="api_upload_detail"),
    path("api/uploads/<int:upload_id>/reread-dates/", api.upload_reread_dates_api, name="api_upload_reread_dates"),
]
