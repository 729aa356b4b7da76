from __future__ import annotations

from django.urls import path

from kpitree import views

app_name = "kpitree"

urlpatterns = [
    # Pages (the dashboard).
    path("stores/<slug:slug>/", views.diagnosis, name="diagnosis"),
    path("stores/<slug:slug>/nodes/<slug:tree>/<slug:key>/", views.node_detail, name="node_detail"),
]
