"""Write small FORMAT.md folders for tests, by hand, file by file."""

from __future__ import annotations

from pathlib import Path

HAND = {
    "users.csv": (
        "user_id,name,email,role,manager_id,team,territory\n"
        "u-rep1,Rita Rep,rita@example.com,rep,u-mgr,Alpha,North\n"
        "u-mgr,Max Manager,max@example.com,manager,,Alpha,North\n"
    ),
    "stages.csv": (
        "pipeline,stage,position,kind,probability\n"
        "default,Qualify,1,open,0.1\n"
        "default,Proposal,2,open,0.5\n"
        "default,Won,3,won,1\n"
        "default,Lost,4,lost,0\n"
    ),
    "accounts.csv": (
        "account_id,name,sector,territory,employees,annual_revenue,parent_account_id,payment_terms_days,created_at\n"
        "a-sub,Acme Sub,tech,North,50,1000000.50,a-acme,30,2024-01-01\n"
        "a-acme,Acme,tech,North,500,25000000,,45,2023-06-01T09:00:00\n"
    ),
    "deals.csv": (
        "deal_id,pipeline,name,account_id,owner_id,amount,currency,created_at,stage,status,closed_at,close_date,lost_reason,source,product_id\n"
        "d1,default,Acme rollout,a-acme,u-rep1,12000.50,USD,2024-02-01T10:00:00,Proposal,open,,2024-05-31,,inbound,\n"
        "d2,default,Acme sub pilot,a-sub,u-rep1,3000,USD,2024-01-15,Won,won,2024-03-01T16:30:00+01:00,2024-03-01,,referral,\n"
        "d3,default,Cold one,,u-rep1,500,,2024-01-20,Lost,lost,2024-02-20,2024-02-28,no budget,,\n"
    ),
    "stage_events.csv": (
        "deal_id,at,to_stage,from_stage\n"
        "d1,2024-02-01T10:00:00,Qualify,\n"
        "d1,2024-03-10T10:00:00,Proposal,Qualify\n"
        "d2,2024-01-15,Qualify,\n"
        "d2,2024-03-01T16:30:00+01:00,Won,Qualify\n"
        "d3,2024-01-20,Qualify,\n"
        "d3,2024-02-20,Lost,Qualify\n"
    ),
    "close_date_events.csv": (
        "deal_id,at,new_close_date,old_close_date\n"
        "d1,2024-02-01T10:00:00,2024-04-30,\n"
        "d1,2024-04-29T08:00:00,2024-05-31,2024-04-30\n"
    ),
    "touches.csv": (
        "touch_id,at,channel,owner_id,direction,outcome,deal_id,lead_id,contact_id,account_id,duration_minutes,notes\n"
        "t1,2024-02-02T09:00:00,phone,u-rep1,out,connected,d1,,,a-acme,15,\"first call, went well\"\n"
        "t2,2024-02-03T09:00:00,social,u-rep1,out,,d1,,,a-acme,,liked a post\n"
    ),
    "quotas.csv": (
        "owner_id,period_start,period_end,amount\n"
        "u-rep1,2024-01-01,2024-03-31,50000\n"
        "team:Alpha,2024-01-01,2024-03-31,120000\n"
    ),
}


def write_folder(path: Path, files: dict[str, str] | None = None, **overrides: str | None) -> Path:
    """Write HAND (or ``files``) into ``path``; ``name=None`` in overrides drops a file."""
    path.mkdir(parents=True, exist_ok=True)
    content = dict(HAND if files is None else files)
    for key, value in overrides.items():
        name = key if key.endswith((".csv", ".parquet")) else f"{key}.csv"
        if value is None:
            content.pop(name, None)
        else:
            content[name] = value
    for name, text in content.items():
        (path / name).write_text(text, encoding="utf-8", newline="")
    return path
