"""The API alone, for the API tests (the pages' URLs are tested in tests/web)."""

from django.urls import path

from bestby.api.main import api

urlpatterns = [path("api/", api.urls)]
