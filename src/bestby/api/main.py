"""The API object mounted at /api/: routers by feature, token auth on every endpoint, JSON errors everywhere.

The OpenAPI document is /api/openapi.json and the docs /api/docs: Swagger UI
served from the ninja package's own static files ("ninja" is in
INSTALLED_APPS), so the docs work offline, with no CDN.
"""

from __future__ import annotations

from django.urls import re_path
from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from bestby.api import accounts, analytics, cadences, clearance, deals, errors, quotas, reports, touches
from bestby.api.auth import TokenAuth


class BestbyAPI(NinjaAPI):
    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            pattern.callback = errors.json_405(pattern.callback)
        patterns.append(re_path(r"^(?P<rest>.*)$", errors.unknown_path))
        return patterns, app_name, namespace


api = BestbyAPI(
    title="bestby", version="1", urls_namespace="api", auth=TokenAuth(), docs=Swagger(), docs_url="/docs",
    description="The sales pipeline as inventory. Every request needs `Authorization: Bearer <token>` "
                "(`bestby token create`). Records are named by their external ids; errors are JSON "
                '`{"detail": ..., "field": ...}`; every edit of a deal sends the `version` it was based on.',
)
errors.install(api)
for module in (deals, accounts, touches, analytics, clearance, reports, quotas, cadences):
    api.add_router("/", module.router)
