"""Two small Pipedrive exports written by hand, with every expected count worked out beside the rows.

SHEET: the spreadsheet export's headers ("Deal - ID" ...) with a deals file, an
API-style change log, stages.csv, users, organizations, persons, activities and
activity types. LOG: the Enpal extract's shape (API keys, no deals file: the
deals come from the change log), with fields.csv and a deal id two deals share.
"""

from __future__ import annotations

from pathlib import Path

SHEET = {
    "deals.csv": (
        "Deal - ID,Deal - Title,Deal - Value,Deal - Currency,Deal - Organization,Deal - Owner,Deal - Stage,"
        "Deal - Pipeline,Deal - Status,Deal - Deal created,Deal - Expected close date,Deal - Won time,"
        "Deal - Lost time,Deal - Lost reason,Deal - Update time\n"
        "101,Acme rollout,12000.50,EUR,Acme GmbH,Rita Rep,Proposal,Sales,Open,2024-01-10 09:00:00,2024-04-30,,,,2024-02-15 09:00:00\n"
        "102,Beta pilot,3000,EUR,Beta AG,Max Boss,Qualified,Sales,Won,2024-01-15 10:00:00,2024-03-01,2024-02-20 16:00:00,,,2024-02-20 16:00:00\n"
        "103,Gamma,500,EUR,Gamma Ltd,Rita Rep,Qualified,Sales,Lost,2024-02-01 08:00:00,,,2024-03-05 12:00:00,No budget,2024-03-05 12:00:00\n"
        "104,Old one,100,EUR,,Rita Rep,Qualified,Sales,Deleted,2024-01-05 08:00:00,,,,,2024-01-06 08:00:00\n"
        "105,Delta,800,EUR,Acme GmbH,Nora New,Proposal,Sales,Lost,2024-02-10 09:00:00,,,,Timing,2024-02-20 17:00:00\n"
    ),
    "stages.csv": (
        "id,name,order_nr,pipeline_id,pipeline_name,deal_probability\n"
        "1,Qualified,1,1,Sales,20\n"
        "2,Proposal,2,1,Sales,60\n"
    ),
    "users.csv": (
        "id,name,email\n"
        "1,Rita Rep,rita@example.com\n"
        "2,Max Boss,max@example.com\n"
    ),
    "organizations.csv": (
        "Organization - ID,Organization - Name,Organization - Organization created\n"
        "11,Acme GmbH,2023-12-01 08:00:00\n"
        "12,Beta AG,2023-12-02 08:00:00\n"
    ),
    "persons.csv": (
        "Person - ID,Person - Name,Person - Email,Person - Phone,Person - Organization\n"
        "21,Anna Acme,anna@acme.example,+49 30 1234,Acme GmbH\n"
        "22,Ben Beta,ben@beta.example,,Beta AG\n"
    ),
    "activity_types.csv": (
        "id,name,key_string\n"
        "1,Call,call\n"
        "2,Meeting,meeting\n"
        "3,Task,task\n"
        "4,Email,email\n"
        "5,LinkedIn message,linkedin_msg\n"
    ),
    "activities.csv": (
        "Activity - ID,Activity - Type,Activity - Done,Activity - Due date,Activity - Due time,Activity - Deal ID,"
        "Activity - Assigned to user,Activity - Contact person,Activity - Subject\n"
        "301,Call,Done,2024-01-11,10:30,101,Rita Rep,Anna Acme,Intro call\n"          # touch: phone
        "302,Meeting,Done,2024-01-20,14:00,102,Max Boss,Ben Beta,Demo\n"              # touch: meeting
        "303,Call,To do,2024-05-01,09:00,101,Rita Rep,,Follow-up\n"                   # not_done
        "304,Task,Done,2024-01-12,,101,Rita Rep,,Send deck\n"                         # activity_not_a_touch
        "305,Email,Done,2024-01-13,,999,Rita Rep,,Lost lead\n"                        # activity_deal_missing
        "306,Email,Done,2024-01-14,,104,Rita Rep,,About the old one\n"                # activity_deal_missing (deleted)
        "301,Call,Done,2024-01-15,11:00,101,Rita Rep,,Same id again\n"                # activity_id_repeated
        "307,LinkedIn message,Done,2024-01-16,,101,Rita Rep,,\n"                      # touch: social
        "308,Coffee chat,Done,2024-01-17,,,Max Boss,Ben Beta,\n"                      # touch: other, no deal
    ),
    "deal_changes.csv": (
        "deal_id,change_time,changed_field_key,new_value\n"
        "101,2024-01-10 09:00:00,add_time,2024-01-10T09:00:00\n"       # change_log_other_field
        "101,2024-01-10 09:00:00,stage_id,1\n"                         # 101 enters Qualified
        "101,2024-01-25 09:00:00,stage_id,2\n"                         # 101 Qualified -> Proposal
        "101,2024-01-10 09:00:00,expected_close_date,2024-03-31\n"     # close-date event 1
        "101,2024-02-15 09:00:00,expected_close_date,2024-04-30\n"     # close-date event 2 (old 2024-03-31)
        "102,2024-01-15 10:00:00,stage_id,1\n"                         # 102 enters Qualified
        "102,2024-01-05 10:00:00,stage_id,1\n"                         # history_before_deal
        "102,2024-01-16 10:00:00,user_id,2\n"                          # change_log_other_field
        "104,2024-01-05 08:00:00,stage_id,1\n"                         # change_log_deal_missing (deleted)
        "999,2024-01-01 00:00:00,stage_id,1\n"                         # change_log_deal_missing
        "105,2024-02-10 09:00:00,stage_id,1\n"                         # 105 enters Qualified
        "105,2024-02-12 09:00:00,stage_id,7\n"                         # unknown_stage
        "105,2024-02-14 09:00:00,stage_id,2\n"                         # 105 Qualified -> Proposal
    ),
}
# deals: 101, 102, 103, 105 (104 deleted). Stage events: 101 Qualified, Proposal (2); 102 Qualified, Won (2);
# 103 Qualified at creation, Lost (2); 105 Qualified, Proposal, Lost at its update time (3) = 9.
# Stages: Qualified, Proposal, Won, Lost. Users: Rita, Max and the placeholder "Nora New". Accounts: Acme, Beta and
# the placeholder "Gamma Ltd". Touches: 301, 302, 307, 308.
SHEET_CREATED = {"stages": 4, "users": 3, "accounts": 3, "contacts": 2, "deals": 4, "stage_events": 9,
                 "close_date_events": 2, "touches": 4}
SHEET_FINDINGS = {
    "deal_deleted": 1,               # 104
    "closed_without_time": 1,        # 105 lost without a lost time: its update time
    "history_before_deal": 1,        # 102's stage row of 2024-01-05
    "unknown_stage": 1,              # 105 -> stage id 7
    "no_stage_history": 1,           # 103
    "change_log_other_field": 2,     # 101 add_time, 102 user_id
    "change_log_deal_missing": 2,    # 104 (deleted), 999
    "activity_id_repeated": 1,       # the second 301
    "not_done": 1,                   # 303
    "activity_not_a_touch": 1,       # 304
    "activity_deal_missing": 2,      # 305 (deal 999), 306 (deal 104, deleted)
    "activity_type_other": 1,        # "Coffee chat"
    "user_placeholder": 1,           # Nora New
    "account_placeholder": 1,        # Gamma Ltd
}

LOG = {
    "deal_changes.csv": (
        "deal_id,change_time,changed_field_key,new_value\n"
        "1,2024-03-01 10:00:00,add_time,2024-03-01T10:00:00\n"
        "1,2024-03-02 10:00:00,user_id,7\n"                    # field_history_superseded (8 is later)
        "1,2024-03-03 10:00:00,stage_id,1\n"                   # 1 enters Lead in
        "1,2024-03-05 10:00:00,user_id,8\n"
        "1,2024-03-10 10:00:00,stage_id,3\n"                   # skips stage 2: normal
        "1,2024-03-12 10:00:00,stage_id,2\n"                   # goes back: normal
        "1,2024-03-20 10:00:00,lost_reason,2\n"                # lost, "No reply"
        "2,2024-03-04 09:00:00,add_time,2024-03-04T09:00:00\n"
        "2,2024-03-04 09:30:00,stage_id,1\n"
        "2,2024-03-06 09:00:00,expected_close_date,2024-04-30\n"
        "2,2024-03-08 09:00:00,stage_id,2\n"
        "2,2024-03-09 09:00:00,expected_close_date,2024-05-31\n"
        "2,2024-03-09 12:00:00,user_id,8\n"
        "3,2024-02-01 08:00:00,add_time,2024-02-01T08:00:00\n"  # deal_id_reused: the earlier deal 3 (3 rows)
        "3,2024-02-02 08:00:00,stage_id,1\n"
        "3,2024-02-10 08:00:00,lost_reason,1\n"
        "3,2024-03-15 08:00:00,add_time,2024-03-15T08:00:00\n"  # the later deal 3: kept
        "3,2024-03-16 08:00:00,stage_id,1\n"
        "3,2024-03-18 08:00:00,stage_id,9\n"                   # unknown_stage
        "4,2024-03-01 12:00:00,user_id,7\n"                    # change_log_no_add_time
        "2,2024-03-09 13:00:00,probability,50\n"               # change_log_other_field
    ),
    "stages.csv": "stage_id,stage_name\n1,Lead in\n2,Qualified lead\n3,Demo\n",
    "fields.csv": (
        "ID,FIELD_KEY,NAME,FIELD_VALUE_OPTIONS\r\n"
        "13,add_time,Deal created,\r\n"
        '10,stage_id,Stage,"[{""id"": ""1"", ""label"": ""Lead In""},{""id"": ""2"", ""label"": ""Qualified lead""},'
        '{""id"": ""3"", ""label"": ""Demo""}]"\r\n'
        '23,lost_reason,Lost reason,"[{""id"": ""1"", ""label"": ""Too expensive""},{""id"": ""2"", ""label"": ""No reply""}]"'
    ),
    "users.csv": "id,name,email,modified\n7,Ann Seller,ann@example.org,2024-01-01 00:00:00.1\n8,Bob Seller,bob@example.org,2024-01-01 00:00:00.2\n",
    "activity_types.csv": (
        "id,name,active,type\n1,Sales Call 1,Yes,meeting\n2,Sales Call 2,Yes,sc_2\n3,Follow Up Call,No,follow_up\n"
        "4,After Close Call,Yes,after_close_call"
    ),
    "activity.csv": (
        "activity_id,type,assigned_to_user,deal_id,done,due_to\n"
        "500,sc_2,7,1,True,2024-03-04T11:00:00\n"               # touch: phone ("Sales Call 2")
        "501,meeting,8,2,True,2024-03-05T15:00:00\n"            # touch: meeting (built-in key)
        "502,follow_up,8,2,False,2024-03-20T10:00:00\n"         # not_done
        "503,after_close_call,7,77,True,2024-03-21T10:00:00\n"  # activity_deal_missing
        "500,follow_up,7,2,True,2024-03-22T10:00:00\n"          # activity_id_repeated
        "504,follow_up,7,4,True,2024-03-23T10:00:00\n"          # activity_deal_missing (deal 4 has no add_time)
    ),
}
# deals 1 (lost), 2 (open), 3 (the later one, open); stage events 1: Lead in, Demo, Qualified lead, Lost (4);
# 2: Lead in, Qualified lead (2); 3: Lead in (1) = 7. Stages: 3 + Won + Lost.
LOG_CREATED = {"stages": 5, "users": 2, "deals": 3, "stage_events": 7, "close_date_events": 2, "touches": 2}
LOG_FINDINGS = {
    "stage_label_differs": 1,          # stage 1: "Lead in" / "Lead In"
    "deals_from_change_log": 3,
    "first_stage_after_creation": 3,   # every deal's first stage row is after its add_time
    "field_history_superseded": 1,     # deal 1's owner 7
    "deal_id_reused": 3,               # the earlier deal 3's rows
    "unknown_stage": 1,                # deal 3 -> stage 9
    "change_log_no_add_time": 1,       # deal 4
    "change_log_other_field": 1,       # deal 2's probability
    "not_done": 1,                     # 502
    "activity_deal_missing": 2,        # 503, 504
    "activity_id_repeated": 1,         # the second 500
    "activity_type_name_differs": 1,   # meeting named "Sales Call 1"
}


def write_export(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode("utf-8"))
    return folder
