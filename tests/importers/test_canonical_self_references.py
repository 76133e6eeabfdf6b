"""Self references (users.manager_id, accounts.parent_account_id) to rows of the same import."""

from __future__ import annotations

import pytest

from bestby.accounts.models import Account
from bestby.importers.canonical import import_canonical
from bestby.people.models import User
from tests.importers.folders import HAND, write_folder
from tests.importers.test_canonical_helpers import Snapshot

pytestmark = pytest.mark.django_db


def counts(report, name):
    c = report.files[name]
    return (c.created, c.updated, c.unchanged)


# a-sub now belongs to a-new, a new account listed after it
ACCOUNTS_REPARENTED = (
    "account_id,name,sector,territory,employees,annual_revenue,parent_account_id,payment_terms_days,created_at\n"
    "a-sub,Acme Sub,tech,North,50,1000000.50,a-new,30,2024-01-01\n"
    "a-acme,Acme,tech,North,500,25000000,,45,2023-06-01T09:00:00\n"
    "a-new,Acme Holding,tech,North,5,,,,2024-05-01\n"
)

# u-rep1 now reports to u-boss, a new user listed after it
USERS_NEW_MANAGER = (
    "user_id,name,email,role,manager_id,team,territory\n"
    "u-rep1,Rita Rep,rita@example.com,rep,u-boss,Alpha,North\n"
    "u-mgr,Max Manager,max@example.com,manager,,Alpha,North\n"
    "u-boss,Bea Boss,bea@example.com,manager,,Alpha,North\n"
)


def test_first_import_resolves_a_parent_listed_later(tmp_path):
    # in HAND, a-sub (line 2) names a-acme (line 3) as its parent
    report = import_canonical(write_folder(tmp_path / "in"))
    assert counts(report, "accounts") == (2, 0, 0)
    assert Account.objects.get(external_id="a-sub").parent.external_id == "a-acme"


@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry-run"])
def test_a_row_pointing_to_a_new_row_of_the_same_import_counts_as_updated(tmp_path, dry_run):
    import_canonical(write_folder(tmp_path / "in"))
    before = Snapshot(tmp_path)
    folder = write_folder(tmp_path / "next", {"accounts.csv": ACCOUNTS_REPARENTED, "users.csv": USERS_NEW_MANAGER,
                                              "deals.csv": HAND["deals.csv"]})
    report = import_canonical(folder, dry_run=dry_run)
    assert counts(report, "accounts") == (1, 1, 1)
    assert counts(report, "users") == (1, 1, 1)
    if dry_run:
        Snapshot(tmp_path).assert_same(before)
        return
    assert Account.objects.get(external_id="a-sub").parent.external_id == "a-new"
    assert User.objects.get(external_id="u-rep1").manager.external_id == "u-boss"
    # and again: nothing changes
    report = import_canonical(folder)
    assert counts(report, "accounts") == (0, 0, 3) and counts(report, "users") == (0, 0, 3)
