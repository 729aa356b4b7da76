from __future__ import annotations

from django.urls import path

from kpitree import api, views

app_name = "kpitree"

urlpatterns = [
    # Pages (the dashboard).
    path("stores/<slug:slug>/", views.diagnosis, name="diagnosis"),
    path("stores/<slug:slug>/nodes/<slug:tree>/<slug:key>/", views.node_detail, name="node_detail"),
    path("stores/<slug:slug>/customers/", views.customers_page, name="customers"),
    path("stores/<slug:slug>/customers/export/", views.customers_export, name="customers_export"),
    # JSON API.
    path("api/ping/", api.ping_api, name="api_ping"),
    path("api/stores/", api.store_list_api, name="api_store_list"),
    path("api/stores/<slug:slug>/tree/", api.tree_api, name="api_tree"),
    path("api/stores/<slug:slug>/diagnosis/", api.diagnosis_api, name="api_diagnosis"),
    path("api/stores/<slug:slug>/customers/rfm/", api.rfm_api, name="api_rfm"),
    path("api/stores/<slug:slug>/cohorts/", api.cohorts_api, name="api_cohorts"),
]
