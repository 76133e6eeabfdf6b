"""Hand-written CSVs for `bestby import csv`, read with the mappings in examples/mappings/.

The expected numbers in the tests are worked out here, row by row, from the
rules in bestby.importers.crm.csvmap_deals (not from running the code):

DEALS (deals.yaml: day-first dates, decimal comma, thousands dot; stages
Qualify, Proposal, Negotiation, Closed won, Closed lost):

line  id     phase -> stage          status  closed on   expected   what happens
2     OPP-1  Qualify                 Open    -           29/02      open: no event (snapshot)
3     OPP-2  Proposal sent->Proposal Open    -           31/03      open: no event (snapshot)
4     OPP-3  Won -> Closed won       Won     20/03       15/03      2 events
5     OPP-4  Negotiation (open)      Lost    28/03       -          closed in an open stage -> Closed lost; 2 events
6     OPP-5  Lost -> Closed lost     Lost    -           -          no closing time at all: NOT imported
7     OPP-6  Won -> Closed won       Open    05/03       -          status contradicts stage: won; 2 events
8     OPP-7  Won -> Closed won       Won     01/03 (< created 10/03)  closed_at := created_at; 2 events
9     OPP-8  Negotiation (open)      Won     -           30/04      closed in open stage -> Closed won,
                                                                    closed_at := 30/04 (close date); 2 events

deals 7, stages 5, stage events 5 closed deals x 2 = 10.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO

EXAMPLES = REPO / "examples" / "mappings"
DEALS_MAP = EXAMPLES / "deals.yaml"
TOUCHES_MAP = EXAMPLES / "touches.yaml"

DEALS_HEADER = "Opportunity ID,Opportunity,Created,Phase,Status,Value,Closed on,Expected close,Owner,Internal notes\n"
DEALS = DEALS_HEADER + (
    'OPP-1,Acme rollout,03/01/2024,Qualify,Open,"12.500,00",,29/02/2024,Ana,call back\n'
    "OPP-2,Globex renewal,15/01/2024,Proposal sent,Open,8.000,,31/03/2024,Ben,\n"
    'OPP-3,Initech pilot,05/02/2024,Won,Won,"4.250,50",20/03/2024,15/03/2024,Ana,\n'
    "OPP-4,Umbrella fleet,10/02/2024,Negotiation,Lost,30.000,28/03/2024,,Ben,price\n"
    "OPP-5,Hooli,12/02/2024,Lost,Lost,,,,Ana,\n"
    "OPP-6,Stark,01/03/2024,Won,Open,1.000,05/03/2024,,Ben,\n"
    'OPP-7,Wayne,10/03/2024,Won,Won,"2.000,5",01/03/2024,,Ana,\n'
    'OPP-8,Cyberdyne,11/03/2024,Negotiation,Won,"999,99",,30/04/2024,Ben,\n'
)
DEALS_CREATED = {"stages": 5, "deals": 7, "stage_events": 10}
DEALS_FINDINGS = {"snapshot": 2, "closed_in_open_stage": 2, "closed_without_date": 1, "status_contradicts_stage": 1,
                  "closed_before_created": 1, "closed_at_from_close_date": 1, "no_history": 5}

# A newer export: OPP-1's value changed, OPP-2 moved on to Negotiation, OPP-9 is new.
DEALS_NEWER = (DEALS.replace('"12.500,00"', '"13.000,00"')
               .replace("OPP-2,Globex renewal,15/01/2024,Proposal sent", "OPP-2,Globex renewal,15/01/2024,Negotiation")
               + "OPP-9,Soylent,20/04/2024,Qualify,Open,500,,,Ana,\n")

TOUCHES = (
    "Activity ID,Type,Date,Deal,Result,Status,Duration (min),Subject,Owner\n"
    "T-1,Call,08-01-2024 10:15,OPP-1,Reached,Done,12,Intro call,Ana\n"
    "T-2,Email,09-01-2024 09:00,OPP-1,,Done,,Agenda,Ana\n"
    "T-3,Call,16-01-2024 14:30,OPP-2,No answer,Done,,,Ben\n"
    "T-4,Meeting,20-03-2024 15:00,OPP-2,,Planned,60,Demo,Ben\n"
    "T-5,LinkedIn,21-01-2024 08:05,OPP-2,,Done,,Liked a post,Ben\n"
    "T-6,Call,22-01-2024 11:00,,Voicemail,Done,1,,Ben\n"
    "T-7,Meeting,23-01-2024 16:00,OPP-3,,Planned,30,,Ana\n"
)
# T-4 and T-7 are Planned: skipped by the mapping's skip; 5 touches.


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
