from __future__ import annotations

from django.urls import path

from kpitree.targets import api, views

app_name = "targets"

urlpatterns = [
    path("stores/<slug:slug>/targets/", views.targets_page, name="targets"),
    path("stores/<slug:slug>/targets/allocate/", views.allocate_page, name="allocate"),
    path("stores/<slug:slug>/departments/", views.departments_page, name="departments"),
    path("api/stores/<slug:slug>/targets/", api.targets_api, name="api_targets"),
    path("api/stores/<slug:slug>/targets/allocate/", api.allocate_api, name="api_allocate"),
]
