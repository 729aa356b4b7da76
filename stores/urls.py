from __future__ import annotations

from django.urls import path

from stores import views

app_name = "stores"

urlpatterns = [
    path("stores/", views.store_list, name="store_list"),
]
