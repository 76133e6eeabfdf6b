"""Use cases for people: creating sign-ins."""

from __future__ import annotations

import re

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from bestby.people.models import Role, User


class UserError(ValueError):
    """A sign-in could not be created; the message names the parameter."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@transaction.atomic
def add_user(*, email: str, role: str, password: str, name: str = "", manager: str | None = None, team: str = "") -> User:
    """Create a user who can sign in with ``email`` and ``password``."""
    try:
        validate_email(email)
    except ValidationError:
        raise UserError(f"EMAIL {email!r} is not a valid e-mail address") from None
    if role not in Role.values:
        raise UserError(f"--role {role!r}: use one of {', '.join(Role.values)}")
    if User.objects.filter(Q(username=email) | Q(email__iexact=email)).exists():
        raise UserError(f"EMAIL {email!r}: a user with this e-mail already exists")
    boss = None
    if manager:
        boss = User.objects.filter(Q(email__iexact=manager) | Q(external_id=manager) | Q(username=manager)).first()
        if boss is None:
            raise UserError(f"--manager {manager!r}: no user has this e-mail or id")
    external_id = _slug(email)
    if User.objects.filter(external_id=external_id).exists():
        external_id = f"{external_id}-{User.objects.count() + 1}"
    user = User(
        username=email, email=email, name=name, role=role, manager=boss, team=team or (boss.team if boss else ""),
        territory=boss.territory if boss else "", external_id=external_id,
        is_staff=role == Role.ADMIN, is_superuser=role == Role.ADMIN,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise UserError("password: " + " ".join(exc.messages)) from None
    user.set_password(password)
    user.save()
    return user
