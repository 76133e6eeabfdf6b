"""Users: sellers, their managers and admins, with team and territory."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class Role(models.TextChoices):
    REP = "rep", "Rep"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


class User(AbstractUser):
    """A person who signs in, owns deals, or both.

    ``external_id`` is the ``user_id`` of FORMAT.md: imported sellers keep their
    CRM id, and users created by hand get one from their e-mail address.
    Imported users have no usable password until an admin sets one.
    """

    external_id = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REP)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    team = models.CharField(max_length=120, blank=True, db_index=True)
    territory = models.CharField(max_length=120, blank=True)
    #: the seller's IANA time zone (their "today" and their calendar); empty: the workspace's
    time_zone = models.CharField(max_length=64, blank=True)
    custom = models.JSONField(default=dict, blank=True)

    objects = UserManager()

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.display(self.name, self.email, self.external_id)

    def zone(self):
        """The seller's time zone (a ZoneInfo), else the workspace's."""
        import zoneinfo

        from django.conf import settings

        return zoneinfo.ZoneInfo(self.time_zone or settings.TIME_ZONE)

    @staticmethod
    def display(name: str, email: str, external_id: str) -> str:
        """How a person is named on pages: their name, else their email, else their id."""
        return name or email or external_id
