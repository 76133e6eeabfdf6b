"""A small HubSpot export written by hand, with HubSpot's own column names.

Every count the HubSpot tests expect is worked out from these rows in the
comments below; the tests must not learn them from the importer.

Deals (8), pipeline "Sales Pipeline" unless said:
  101 Closed Won, entered AS 01-02 09:00, QTB 01-10, CS 02-01, CW 02-20 15:30     -> 4 stage events, won
  102 Qualified To Buy, entered AS 03-01, QTB 03-05; companies "12;99"           -> 2 events, open, account 12
  103 Closed Lost, entered AS 04-01, CL 04-12 17:00; AS exited 03-30 (< entry)    -> 2 events, lost
  104 Closed Won, no Date entered at all; Is Closed Won false (contradiction)     -> 2 events (entry + close), won
  105 pipeline Renewals, "Review (legal)" entered 02-01; a Sales QTB value too    -> 1 event, the QTB value skipped
  106 Contract Sent, AS entered 04-20 before creation 05-01, CS 05-03             -> 1 event, AS skipped
  107 Contract Sent, AS 06-01, CS 06-10                                           -> 2 events
  108 Negotiation (no Date entered column), AS 07-01                              -> 1 event, ends elsewhere
  stage events: 4 + 2 + 2 + 2 + 1 + 1 + 2 + 1 = 15
Stages: Sales Pipeline AS 1, QTB 2, CS 3, Negotiation 4 (open), Closed Won 5, Closed Lost 6;
        Renewals "Review (legal)" 1 (open), Closed Won 2.
Companies 11, 12, 13; contacts 201 (-> 11), 202 (-> 13), 203 (-> 55, not in the export).
Calls: 301 302 303 306 are touches; 304 scheduled, 307 canceled, 305 linked to deal 999 only.
Emails: 401 402 403 are touches; 404 scheduled.  Touches: 4 + 3 = 7.
Users: jane-doe (Jane Doe), bob@example.com (Bob Smith), carol-kim (Carol Kim).
"""

from __future__ import annotations

from pathlib import Path

AS, QTB = '"Appointment Scheduled (Sales Pipeline)"', '"Qualified To Buy (Sales Pipeline)"'
DEALS_HEADER = [
    "Record ID", "Deal Name", "Deal Stage", "Pipeline", "Amount", "Close Date", "Create Date", "Deal owner",
    "Associated Company IDs", "Deal Type", "Closed Lost Reason", "Currency", "Is Closed Won", "Deal probability",
    f"Date entered {AS}", f"Date exited {AS}", f"Cumulative time in {AS}",
    f"Date entered {QTB}", f"Date exited {QTB}",
    "Date entered Contract Sent (Sales Pipeline)",           # HubSpot sometimes writes no quotes
    'Date entered "Closed Won (Sales Pipeline)"',
    'Date entered "Closed Lost (Sales Pipeline)"',
    'Date entered "Review (legal) (Renewals)"',              # a stage name with parentheses
    'Date entered "Closed Won (Renewals)"',
]
#  id   name            stage              pipeline         amount close        create            owner                          companies type          lost     cur  won    prob  AS-in             AS-out            cum   QTB-in            QTB-out           CS-in             CW-in             CL-in             Rev-in            RCW-in
DEALS_ROWS = [
    ["101", "Acme expansion", "Closed Won", "Sales Pipeline", "5000", "2024-02-20", "2024-01-02 09:00", "Jane Doe", "11", "newbusiness", "", "USD", "true", "1",
     "2024-01-02 09:00", "2024-01-10 10:00", "8", "2024-01-10 10:00", "2024-02-01 12:00", "2024-02-01 12:00", "2024-02-20 15:30", "", "", ""],
    ["102", "Beta pilot", "Qualified To Buy", "Sales Pipeline", "1200", "2024-06-30", "2024-03-01 08:00", "Bob Smith <bob@example.com>", "12;99", "", "", "USD", "false", "0.4",
     "2024-03-01 08:00", "2024-03-05 09:00", "4", "2024-03-05 09:00", "", "", "", "", "", ""],
    ["103", "Gamma lost", "Closed Lost", "Sales Pipeline", "800", "2024-04-15", "2024-04-01 10:00", "Jane Doe", "77", "", "Budget", "USD", "false", "0",
     "2024-04-01 10:00", "2024-03-30 10:00", "", "", "", "", "", "2024-04-12 17:00", "", ""],
    ["104", "Delta", "Closed Won", "Sales Pipeline", "300", "2024-05-10", "2024-05-01 09:00", "Jane Doe", "", "", "", "USD", "false", "1",
     "", "", "", "", "", "", "", "", "", ""],
    ["105", "Epsilon renewal", "Review (legal)", "Renewals", "", "2024-12-31", "2024-02-01 09:00", "", "", "", "", "", "", "",
     "", "", "", "2024-01-20 09:00", "", "", "", "", "2024-02-01 09:00", ""],
    ["106", "Zeta", "Contract Sent", "Sales Pipeline", "", "2024-09-30", "2024-05-01 09:00", "Jane Doe", "", "", "", "", "", "0.8",
     "2024-04-20 09:00", "", "", "", "", "2024-05-03 11:00", "", "", "", ""],
    ["107", "Eta", "Contract Sent", "Sales Pipeline", "700", "2024-09-30", "2024-06-01 09:00", "Jane Doe", "13", "", "", "USD", "", "90%",
     "2024-06-01 09:00", "", "", "", "", "2024-06-10 09:00", "", "", "", ""],
    ["108", "Theta", "Negotiation", "Sales Pipeline", "900", "2024-10-31", "2024-07-01 09:00", "Jane Doe", "", "", "", "USD", "", "",
     "2024-07-01 09:00", "", "", "", "", "", "", "", "", ""],
]

COMPANIES = (
    "Record ID,Company name,Industry,Number of Employees,Annual Revenue,Country/Region,Create Date\n"
    "11,Acme Corp,COMPUTER_SOFTWARE,250,12000000,United States,2023-11-01 10:00\n"
    "12,Beta GmbH,MACHINERY,40,,Germany,2024-02-15 09:30\n"
    "13,Gamma Ltd,,,,United Kingdom,\n"
)
CONTACTS = (
    "Record ID,First Name,Last Name,Email,Phone Number,Job Title,Associated Company IDs\n"
    "201,Ann,Lee,ann@acme.test,+1 555 0101,CTO,11\n"
    "202,Carl,Diaz,carl@gamma.test,,Buyer,13\n"
    "203,Dora,,dora@nowhere.test,,,55\n"
)
CALLS = (
    "Record ID,Activity date,Call direction,Call outcome,Call status,Call duration,Activity assigned to,"
    "Associated Deal IDs,Associated Contact IDs,Associated Company IDs,Call title\n"
    "301,2024-01-05 10:00,Outbound,Connected,Completed,300000,Jane Doe,101,201,11,Discovery call\n"
    "302,2024-03-02 11:00,Outbound,Left voicemail,Completed,0:45,Bob Smith <bob@example.com>,102,,,\n"
    "303,2024-03-03 09:00,Outbound,,No answer,,Carol Kim,,202,,\n"
    "304,2024-08-01 10:00,Outbound,,Scheduled,,Jane Doe,101,,,\n"
    "305,2024-03-10 10:00,Outbound,Connected,Completed,60000,Jane Doe,999,,,\n"
    "306,2024-03-11 10:00,Outbound,Wrong number,Completed,,Jane Doe,101,999,,\n"
    "307,2024-03-12 10:00,Outbound,,Canceled,,Jane Doe,101,,,\n"
)
EMAILS = (
    "Record ID,Activity date,Email direction,Email subject,Email status,Activity assigned to,"
    "Associated Deal IDs,Associated Contact IDs,Associated Company IDs\n"
    "401,2024-01-06 08:30,Email,Proposal,Sent,Jane Doe,101,201,\n"
    "402,2024-01-07 14:00,Incoming email,Re: Proposal,,,,201,\n"
    "403,2024-03-04 09:00,Email,Hello,Bounced,Bob Smith <bob@example.com>,102,,\n"
    "404,2024-09-01 09:00,Email,Later,Scheduled,Jane Doe,101,,\n"
)


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\n') else v
    return "".join(",".join(cell(v) for v in row) + "\r\n" for row in [header, *rows])


def deals_text(rows: list[list[str]] | None = None) -> str:
    return csv_text(DEALS_HEADER, DEALS_ROWS if rows is None else rows)


def write_export(folder: Path, *, deals: str | None = None, **replace: str) -> Path:
    """Write the export the way HubSpot names its files (with a BOM and CRLF, as HubSpot writes them)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "hubspot-crm-exports-all-deals-2024-08-01.csv": deals if deals is not None else deals_text(),
        "hubspot-crm-exports-all-companies-2024-08-01.csv": COMPANIES,
        "hubspot-crm-exports-all-contacts-2024-08-01.csv": CONTACTS,
        "hubspot-crm-exports-calls-2024-08-01.csv": CALLS,
        "hubspot-crm-exports-emails-2024-08-01.csv": EMAILS,
        "notes.csv": "a,b\n1,2\n",
    }
    for key, text in replace.items():
        name = next(n for n in files if key in n)
        files[name] = text
    for name, text in files.items():
        (folder / name).write_bytes(b"\xef\xbb\xbf" + text.replace("\r\n", "\n").replace("\n", "\r\n").encode())
    return folder
