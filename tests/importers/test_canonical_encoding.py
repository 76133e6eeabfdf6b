"""How CSV is read: byte-order mark, CRLF, RFC 4180 quoting, and line numbers.

A file saved by Excel (BOM, CRLF) must give the very same store as the plain
file; quoted fields keep their commas, quotes and newlines; and a problem in a
row that comes after a multi-line field is reported on the physical line a
person sees in an editor.
"""

from __future__ import annotations

import pytest

from bestby.accounts.models import Account
from bestby.activities.models import Touch
from bestby.importers.canonical import import_canonical
from bestby.importers.problems import ImportFailed
from bestby.pipeline.models import Deal
from tests.importers.folders import HAND, write_folder
from tests.importers.test_canonical_helpers import HAND_ROWS, export_bytes, flush_store, replace_line, write_parquet_copies

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def utc(settings):
    """Expected timestamps below are written for a workspace in UTC."""
    settings.TIME_ZONE = "UTC"



def _encoded(bom: bool, crlf: bool) -> dict[str, str]:
    files = {}
    for name, text in HAND.items():
        if crlf:
            text = text.replace("\n", "\r\n")
        files[name] = ("\ufeff" if bom else "") + text
    return files


@pytest.mark.parametrize("bom,crlf", [(True, False), (False, True), (True, True)], ids=["bom", "crlf", "bom+crlf"])
def test_bom_and_crlf_give_the_same_store_as_the_plain_file(tmp_path, bom, crlf):
    files = _encoded(bom, crlf)
    folder = write_folder(tmp_path / "excel", files)
    if bom:
        assert (folder / "deals.csv").read_bytes().startswith(b"\xef\xbb\xbfdeal_id,")
    if crlf:
        assert b"\r\n" in (folder / "deals.csv").read_bytes()
    report = import_canonical(folder)
    assert {k: v.created for k, v in report.files.items()} == HAND_ROWS
    excel = export_bytes(tmp_path / "excel-export")

    flush_store()
    import_canonical(write_folder(tmp_path / "plain"))
    assert export_bytes(tmp_path / "plain-export") == excel
    # and the plain file over the Excel one changes nothing, row by row
    report = import_canonical(folder)
    assert {k: (v.created, v.updated, v.unchanged) for k, v in report.files.items()} == {
        k: (0, 0, n) for k, n in HAND_ROWS.items()
    }
    # no stray BOM or carriage return anywhere in what was stored
    assert Deal.objects.get(external_id="d1").name == "Acme rollout"
    assert Deal.objects.get(external_id="d3").lost_reason == "no budget"


# touches.csv with a notes field over three physical lines (2, 3 and 4),
# holding a comma, a doubled quote and two newlines; t2 starts on line 5.
MULTILINE_TOUCHES = (
    "touch_id,at,channel,owner_id,direction,outcome,deal_id,lead_id,contact_id,account_id,duration_minutes,notes\n"
    't1,2024-02-02T09:00:00,phone,u-rep1,out,connected,d1,,,a-acme,15,"first call, went well\n'
    'she said ""call me in May""\n'
    'end"\n'
    "t2,2024-02-03T09:00:00,social,u-rep1,out,,d1,,,a-acme,,liked a post\n"
)
T1_NOTES = 'first call, went well\nshe said "call me in May"\nend'


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
def test_quoted_fields_keep_commas_quotes_and_newlines(tmp_path, crlf):
    touches = MULTILINE_TOUCHES
    deals = replace_line(HAND["deals.csv"], "d1,default,Acme rollout,", 'd1,default,"Acme, Inc. rollout",')
    if crlf:
        # a CRLF file: the line breaks inside the quoted field are CRLF too, and are kept as written
        touches, deals = touches.replace("\n", "\r\n"), deals.replace("\n", "\r\n")
    import_canonical(write_folder(tmp_path / "in", **{"touches.csv": touches, "deals.csv": deals}))
    expected_notes = T1_NOTES.replace("\n", "\r\n") if crlf else T1_NOTES
    assert Touch.objects.get(external_id="t1").notes == expected_notes
    assert Touch.objects.get(external_id="t1").duration_minutes == 15
    assert Touch.objects.get(external_id="t2").notes == "liked a post"
    assert Deal.objects.get(external_id="d1").name == "Acme, Inc. rollout"
    # the export quotes them again, and reading the export back changes nothing
    export = tmp_path / "out"
    export_bytes(export)
    assert '"Acme, Inc. rollout"' in (export / "deals.csv").read_text()
    report = import_canonical(export)
    assert report.files["touches"].unchanged == 2 and report.files["deals"].unchanged == 3


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("bad,expected", [
    # a parse problem in t2, which starts on physical line 5
    ((",social,", ",fax,"), ("touches.csv", 5, "channel")),
    # a row-shape problem on line 5
    (("liked a post\n", "liked a post,extra\n"), ("touches.csv", 5, None)),
    # a reference problem, found while writing, on line 5
    ((",d1,,,a-acme,,liked", ",d9,,,a-acme,,liked"), ("touches.csv", 5, "deal_id")),
])
def test_line_numbers_after_a_multi_line_field_are_physical_lines(tmp_path, crlf, bad, expected):
    touches = replace_line(MULTILINE_TOUCHES, *bad)
    if crlf:
        touches = touches.replace("\n", "\r\n")
    with pytest.raises(ImportFailed) as failed:
        import_canonical(write_folder(tmp_path / "in", **{"touches.csv": touches}))
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [expected]


def test_line_numbers_after_multi_line_fields_in_deals_and_a_blank_line(tmp_path):
    # d1's name spans lines 2-3, d2 is on line 4, a blank line 5, d3 on line 6
    deals = HAND["deals.csv"]
    deals = replace_line(deals, "d1,default,Acme rollout,", 'd1,default,"Acme\nrollout",')
    deals = replace_line(deals, "\nd3,", "\n\nd3,")
    deals = replace_line(deals, "Cold one,,u-rep1,", "Cold one,,u-ghost,")
    with pytest.raises(ImportFailed) as failed:
        import_canonical(write_folder(tmp_path / "in", **{"deals.csv": deals}))
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [("deals.csv", 6, "owner_id")]


def test_header_cells_with_spaces_and_any_column_order(tmp_path):
    accounts = (
        " created_at , account_id ,name\n"  # reordered, padded, optional columns left out
        "2024-01-01,a-sub,Acme Sub\n"
        "2023-06-01T09:00:00,a-acme,Acme\n"
    )
    import_canonical(write_folder(tmp_path / "in", **{"accounts.csv": accounts}))
    acme = Account.objects.get(external_id="a-acme")
    assert (acme.name, acme.created_at.isoformat(), acme.employees, acme.sector) == (
        "Acme", "2023-06-01T09:00:00+00:00", None, "")


def test_parquet_rows_are_reported_as_csv_lines(tmp_path):
    """The first Parquet row is line 2, as in the CSV it was converted from."""
    touches = replace_line(HAND["touches.csv"], ",social,", ",fax,")
    src = write_folder(tmp_path / "csv", **{"touches.csv": touches})
    dst = write_parquet_copies(src, tmp_path / "pq", infer_types=True)
    with pytest.raises(ImportFailed) as failed:
        import_canonical(dst)
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [("touches.parquet", 3, "channel")]
