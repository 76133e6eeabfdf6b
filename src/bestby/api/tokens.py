"""Create, check and revoke API tokens (the use cases; the CLI and the API's auth call them).

Why SHA-256 and not a password hash (PBKDF2, Argon2): a password is short and
guessable, so its hash must be slow to stop offline guessing. A token is 256
random bits from :func:`secrets.token_urlsafe`; no amount of guessing finds a
preimage of its SHA-256, slow or fast. A fast hash keeps every API request
cheap, and lets the token be looked up by its digest (an indexed, unique
column) instead of trying a slow hash against every stored token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.db import transaction

from bestby import clock
from bestby.api.models import ApiToken

PREFIX = "bb_"
_TOUCH_EVERY = timedelta(minutes=1)  # write last_used_at at most this often per token


class TokenError(ValueError):
    """Refused; ``param`` names the argument at fault, nothing changed."""

    def __init__(self, param: str, message: str) -> None:
        self.param, self.message = param, message
        super().__init__(f"{param}: {message}")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    """Now, from the one clock (:mod:`bestby.clock`); this module's short name for it."""
    return clock.now()


@transaction.atomic
def create_token(*, user, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the secret (shown once: only its digest is stored)."""
    name = (name or "").strip()
    if not name:
        raise TokenError("name", "give the token a name (what or who uses it)")
    if not user.is_active:
        raise TokenError("user", f"{user} is inactive")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(user=user, name=name[:120], prefix=secret[:8], digest=digest(secret),
                                  created_at=_now())
    return row, secret


def authenticate(token: str):
    """The active user of a valid, unrevoked token, else None (and record when the token was last used)."""
    if not token or not token.startswith(PREFIX):
        return None
    wanted = digest(token)
    row = ApiToken.objects.select_related("user").filter(digest=wanted).first()
    # the lookup is by digest; compare again in constant time so timing says nothing about near misses
    if row is None or not hmac.compare_digest(row.digest, wanted):
        return None
    if row.revoked_at is not None or not row.user.is_active:
        return None
    now = _now()
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


@transaction.atomic
def revoke(prefix: str) -> ApiToken:
    """Revoke the token whose prefix is ``prefix`` (must name exactly one unrevoked token)."""
    rows = list(ApiToken.objects.select_for_update().filter(prefix=prefix, revoked_at__isnull=True))
    if not rows:
        raise TokenError("PREFIX", f"{prefix!r}: no active token has this prefix (see `bestby token list`)")
    if len(rows) > 1:
        raise TokenError("PREFIX", f"{prefix!r} names {len(rows)} tokens; revoke them in the admin")
    rows[0].revoked_at = _now()
    rows[0].save(update_fields=["revoked_at"])
    return rows[0]
