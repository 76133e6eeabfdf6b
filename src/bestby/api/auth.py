"""Bearer-token authentication for the API: ``Authorization: Bearer bb_...`` (see :mod:`bestby.api.tokens`)."""

from __future__ import annotations

from ninja.security import HttpBearer

from bestby.api.tokens import authenticate


class TokenAuth(HttpBearer):
    def authenticate(self, request, token: str):
        user = authenticate(token)
        if user is not None:
            request.user = user  # the access rules read request.user
        return user
