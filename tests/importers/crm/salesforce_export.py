"""A small Salesforce data export, written by hand from the objects' documented API field names.

Every count the tests expect is worked out here, next to the rows (see EXPECTED).
Times are UTC as the data export writes them (``...T09:00:00.000Z``).
"""

from __future__ import annotations

import csv
from pathlib import Path

STAGE = ["Id,MasterLabel,ApiName,IsActive,SortOrder,IsClosed,IsWon,DefaultProbability",
         "01J1,Prospecting,Prospecting,true,1,false,false,10",
         "01J2,Qualification,Qualification,true,2,false,false,20",
         "01J3,Proposal/Price Quote,Proposal/Price Quote,true,3,false,false,75",
         "01J4,Closed Won,Closed Won,true,4,true,true,100",
         "01J5,Closed Lost,Closed Lost,true,5,true,false,0"]

USER = ["Id,Name,Email,ManagerId,Department,Division,IsActive",
        "005M,Mona Manager,mona@example.com,,East,EMEA,true",
        "005A,Alex Rep,alex@example.com,005M,East,EMEA,true",
        "005B,Bea Rep,bea@example.com,005X,East,EMEA,false"]          # manager 005X missing

ACCOUNT = ["Id,Name,Industry,BillingCountry,NumberOfEmployees,AnnualRevenue,ParentId,CreatedDate",
           "001P,Parent Co,Manufacturing,Germany,5000,1000000000,,2023-01-01T00:00:00.000Z",
           "001C,Child Co,Manufacturing,Germany,200,,001P,2023-02-01T00:00:00.000Z",
           "001Z,Zed Ltd,Retail,France,,,001Q,2023-03-01T00:00:00.000Z"]  # parent 001Q missing

CONTACT = ["Id,AccountId,FirstName,LastName,Title,Email,Phone",
           "003A,001P,Ann,Buyer,CFO,ann@parent.example,+49 1",
           "003B,001C,Ben,User,Engineer,ben@child.example,",
           "003C,001W,Cy,Nobody,,,"]                                  # account 001W: a placeholder

ROLE = ["Id,OpportunityId,ContactId,Role,IsPrimary",
        "00K1,006A,003A,Economic Buyer,true",      # 003A: decision_maker
        "00K2,006B,003A,Influencer,false",         # weaker, 003A stays decision_maker
        "00K3,006A,003B,Business User,false",      # 003B: user
        "00K4,006A,003Q,Champion,false",           # contact missing
        "00K5,006X,003B,Champion,false"]           # opportunity missing

OPPORTUNITY = [
    "Id,Name,AccountId,OwnerId,Amount,CurrencyIsoCode,StageName,IsClosed,IsWon,CloseDate,CreatedDate,LeadSource,"
    "Loss_Reason__c,LastStageChangeDate,IsDeleted,Type",
    "006A,Alpha,001P,005A,12000.50,EUR,Proposal/Price Quote,false,false,2024-06-30,2024-01-10T09:00:00.000Z,Web,,"
    "2024-03-01T10:00:00.000Z,false,New Business",
    "006B,Beta,001C,005B,5000,EUR,Closed Won,true,true,2024-04-15,2024-02-01T09:00:00.000Z,Partner Referral,,,false,",
    "006C,Gamma,001Z,005A,8000,EUR,Closed Lost,true,false,2024-05-20,2024-02-15T09:00:00.000Z,,No budget,,false,",
    # open stage but IsClosed=true: the flags contradict the stage; owner 005Z and account 001Y are placeholders
    "006D,Delta,001Y,005Z,3000,EUR,Qualification,true,false,2024-09-30,2024-03-01T09:00:00.000Z,,,,false,",
    "006E,Echo,001P,005A,1000,EUR,Prospecting,false,false,2024-07-01,2024-03-05T09:00:00.000Z,,,,true,",   # deleted
    "006F,Foxtrot,001P,005A,2000,EUR,Legacy Stage,false,false,2024-08-01,2024-03-10T09:00:00.000Z,,,,false,",  # unknown stage
]

HISTORY = [
    "Id,OpportunityId,CreatedDate,StageName,Amount,CloseDate,IsDeleted",
    "0081,006A,2024-01-10T09:00:00.000Z,Prospecting,10000,2024-05-31,false",        # entry
    "0082,006A,2024-01-20T09:00:00.000Z,Qualification,10000,2024-05-31,false",
    "0083,006A,2024-02-01T09:00:00.000Z,Qualification,12000.50,2024-05-31,false",   # amount change: no stage change
    "0084,006A,2024-03-01T10:00:00.000Z,Proposal/Price Quote,12000.50,2024-06-30,false",
    "0085,006B,2024-02-01T09:00:00.000Z,Qualification,5000,2024-04-30,false",
    "0086,006B,2024-04-10T15:00:00.000Z,Closed Won,5000,2024-04-15,false",          # close date 04-30 -> 04-15
    "0087,006C,2024-02-10T09:00:00.000Z,Prospecting,8000,2024-05-20,false",         # before 006C was created
    "0088,006C,2024-02-15T09:00:00.000Z,Prospecting,8000,2024-05-20,false",
    "0089,006C,2024-05-21T08:00:00.000Z,Closed Lost,8000,2024-05-20,false",
    "0090,006E,2024-03-05T09:00:00.000Z,Prospecting,1000,2024-07-01,false",         # of a deleted opportunity
    "0091,006Q,2024-01-01T00:00:00.000Z,Prospecting,,,false",                       # no such opportunity
    "0092,006A,2024-01-15T00:00:00.000Z,Prospecting,10000,2024-05-31,true",         # deleted row
]

FIELD_HISTORY = [
    "Id,OpportunityId,Field,OldValue,NewValue,CreatedDate,IsDeleted",
    "0171,006A,CloseDate,2024-05-31,2024-06-15,2024-02-20T12:00:00.000Z,false",
    "0172,006A,CloseDate,2024-06-15,2024-06-30,2024-03-01T10:00:00.000Z,false",
    "0173,006A,Amount,10000,12000.5,2024-02-01T09:00:00.000Z,false",                   # not kept
    "0174,006A,StageName,Qualification,Proposal/Price Quote,2024-03-01T10:00:00.000Z,false",  # covered by history
    "0175,006D,StageName,Prospecting,Qualification,2024-03-20T10:00:00.000Z,false",   # 006D's only history
]

LEAD = ["Id,FirstName,LastName,Company,Email,Phone,OwnerId,LeadSource,Status,IsConverted,ConvertedOpportunityId,CreatedDate",
        "00Q1,Lee,Lead,Lead Co,lee@lead.example,,005A,Cold Call,Working - Contacted,false,,2024-01-02T09:00:00.000Z",
        "00Q2,Cat,Conv,Conv Co,,,00G1,Web,Closed - Converted,true,006B,2023-12-20T09:00:00.000Z"]  # queue owner

TASK = [
    "Id,WhoId,WhatId,AccountId,OwnerId,Subject,Status,IsClosed,ActivityDate,CompletedDateTime,CreatedDate,TaskSubtype,"
    "Type,CallType,CallDurationInSeconds,CallDisposition,IsDeleted",
    "00T1,003A,006A,001P,005A,Call Ann,Completed,true,2024-02-05,2024-02-05T14:00:00.000Z,2024-02-05T13:00:00.000Z,Call,"
    "Call,Outbound,125,Connected,false",
    "00T2,003A,006A,001P,005A,Call Ann again,Completed,true,2024-02-07,,2024-02-07T10:00:00.000Z,Call,Call,Outbound,30,"
    "Left voicemail,false",
    "00T3,003B,006B,,005B,Email: proposal,Completed,true,2024-03-01,2024-03-01T09:30:00.000Z,,Email,Email,,,,false",
    "00T4,003A,006A,,005A,Send proposal,Not Started,false,2024-07-01,,2024-02-10T00:00:00.000Z,Task,Other,,,,false",
    "00T5,,006Q,,005A,Call,Completed,true,2024-01-05,,,Call,Call,Inbound,,,false",
    "00T6,00Q1,,,005A,Call lead,Completed,true,2024-01-03,,,Call,,Inbound,60,Spoke with gatekeeper,false",
    "00T7,,701C,,005A,Campaign email,Completed,true,2024-01-04,,,Email,,,,,false",
    "00T8,003C,,,005A,Call Cy,Completed,true,2024-02-02,,,Call,,,,Weird result,false",
    "00T9,003A,006A,,005A,Call,Completed,true,2024-02-03,,,Call,,,,,true",
    "00T10,003B,006F,,005A,Call,Completed,true,2024-03-12,,,Call,,,,,false",
]

EVENT = ["Id,WhoId,WhatId,AccountId,OwnerId,Subject,StartDateTime,EndDateTime,DurationInMinutes,IsDeleted,CreatedDate",
         "00U1,003A,006A,001P,005A,Demo,2024-02-20T10:00:00.000Z,2024-02-20T11:00:00.000Z,60,false,2024-02-12T10:00:00.000Z",
         # after the export's latest time (the last history row, 2024-05-21T08:00Z)
         "00U2,003B,006B,,005B,Kickoff,2025-01-10T10:00:00.000Z,2025-01-10T10:30:00.000Z,30,false,2024-04-12T10:00:00.000Z"]

FILES = {"OpportunityStage": STAGE, "User": USER, "Account": ACCOUNT, "Contact": CONTACT,
         "OpportunityContactRole": ROLE, "Opportunity": OPPORTUNITY, "OpportunityHistory": HISTORY,
         "OpportunityFieldHistory": FIELD_HISTORY, "Lead": LEAD, "Task": TASK, "Event": EVENT}

#: worked out by hand from the rows above
EXPECTED_CREATED = {
    "users": 4,            # 005M, 005A, 005B + placeholder 005Z
    "stages": 5,
    "accounts": 5,         # 001P, 001C, 001Z + placeholders 001Y (006D) and 001W (003C)
    "contacts": 3,
    "deals": 4,            # 006A-006D (006E deleted, 006F in an unknown stage)
    "leads": 2,
    # 006A: Prospecting 01-10, Qualification 01-20, Proposal 03-01 (0083 repeats, 0092 deleted);
    # 006B: Qualification, Closed Won; 006C: Prospecting 02-15, Closed Lost (0087 is before creation);
    # 006D: Qualification from its field history
    "stage_events": 8,
    # 006A: two CloseDate field-history rows; 006B: 04-30 -> 04-15 from its history
    "close_date_events": 3,
    "touches": 6,          # 00T1, 00T2, 00T3, 00T6, 00T8, 00U1
}
EXPECTED_FINDINGS = {
    "manager_missing": 1, "parent_missing": 1, "flags_contradict_stage": 1, "deleted": 3, "deal_stage_unknown": 1,
    "history_repeat": 1, "history_before_deal": 1, "history_deal_skipped": 1, "history_deal_missing": 1,
    "field_history_other": 1, "field_history_stage_dup": 1, "role_contact_missing": 1, "role_deal_missing": 1,
    "task_not_done": 1, "touch_deal_missing": 2, "touch_unlinked": 1, "outcome_unknown": 1, "event_not_yet": 1,
    "lead_queue_owner": 1, "owner_placeholder": 1, "account_placeholder": 2,
}


def write_export(folder: Path, files: dict[str, list[str]] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in (files or FILES).items():
        rows = list(csv.reader(lines))
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\r\n").writerows(rows)   # the data export writes CRLF
    return folder
