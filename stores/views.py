from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from stores.selectors import store_list_for_user


@login_required
def store_list(request: HttpRequest) -> HttpResponse:
    stores = store_list_for_user(user=request.user)
    return render(request, "stores/store_list.html", {"stores": stores})
