"""Salesforce's stages (OpportunityStage.csv, or inferred from the opportunities): see ``salesforce``'s docstring."""

from __future__ import annotations

PIPELINE = "salesforce"
TRUE = frozenset({"true", "1", "yes", "y"})


def flag(cell: str) -> bool | None:
    return None if not cell else cell.strip().lower() in TRUE


def flags(cells: list[str] | None) -> list[bool | None] | None:
    """``flag`` of a whole column (a column holds a handful of distinct spellings)."""
    if cells is None:
        return None
    known = {v: flag(v) for v in set(cells)}
    return [known[c] for c in cells]


#: Salesforce's default sales process, in order (used when no OpportunityStage file gives the order)
DEFAULT_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
                  "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost")


class Stages:
    def __init__(self) -> None:
        self.kind: dict[str, str] = {}
        self.first_open = ""

    def __contains__(self, name: str) -> bool:
        return name in self.kind


def read_stages(ctx) -> Stages:
    out = Stages()
    table = ctx.out.table("stages")
    src = ctx.files.get("stage")
    if src is not None:
        names = src.col("MasterLabel", "ApiName", "StageName", "Name")
        if names is None:
            names = src.need(ctx.problems, "MasterLabel", "ApiName")
        order, won, closed = src.opt("SortOrder"), src.opt("IsWon"), src.opt("IsClosed")
        prob = src.opt("DefaultProbability")
        rows = []
        for i, name in enumerate(names):
            if not name:
                ctx.problems.add(src.file, src.lines[i], src.header("MasterLabel", "ApiName") or "MasterLabel", "is empty")
                continue
            kind = "won" if flag(won[i]) else "lost" if flag(closed[i]) else "open"
            try:
                position = int(float(order[i])) if order[i] else None
                probability = float(prob[i]) / 100 if prob[i] else None
            except ValueError:
                ctx.problems.add(src.file, src.lines[i], "SortOrder/DefaultProbability", "is not a number")
                continue
            rows.append((position if position is not None else 10_000 + i, i, name, kind, probability))
        for pos, (_, i, name, kind, probability) in enumerate(sorted(rows), start=1):
            if name in out.kind:
                ctx.problems.add(src.file, src.lines[i], src.header("MasterLabel", "ApiName"), f"stage {name!r} appears twice")
                continue
            out.kind[name] = kind
            table.add(src.file, src.lines[i], pipeline=PIPELINE, stage=name, position=pos, kind=kind, probability=probability)
        table.describe(src.file, stage=src.header("MasterLabel", "ApiName") or "MasterLabel", position="SortOrder",
                       probability="DefaultProbability")
    else:
        seen: dict[str, tuple[str, int]] = {}
        sort_order: dict[str, float] = {}
        for key in ("opportunity", "history"):
            src = ctx.files.get(key)
            if src is None:
                continue
            names = src.opt("StageName")
            orders = src.opt("SortOrder")
            for i, name in enumerate(names):
                if name and name not in seen:
                    seen[name] = (src.file, i)
                if name and orders[i]:
                    try:
                        sort_order.setdefault(name, float(orders[i]))
                    except ValueError:
                        pass
        default = {n: k for k, n in enumerate(DEFAULT_STAGES)}
        appearance = {n: k for k, n in enumerate(seen)}

        def rank(name: str) -> tuple:
            if sort_order and name in sort_order:
                return (0, sort_order[name], 0)
            if not sort_order and name in default:
                return (0, default[name], 0)
            return (1, 0, appearance[name])

        for pos, name in enumerate(sorted(seen, key=rank), start=1):
            low = name.lower()
            kind = "won" if "won" in low else "lost" if "lost" in low else "open"
            out.kind[name] = kind
            file, i = seen[name]
            src_file = ctx.files["opportunity"] if file == ctx.files["opportunity"].file else ctx.files["history"]
            table.add(file, src_file.lines[i], pipeline=PIPELINE, stage=name, position=pos, kind=kind)
        if seen:
            how = "the history's SortOrder" if sort_order else "Salesforce's default sales process"
            ctx.findings.keep("stages_inferred", f"stages taken from the opportunities (no OpportunityStage.csv): order from "
                              f"{how}, kind from the name (won / lost)", ctx.files["opportunity"].file, None,
                              ", ".join(f"{n} ({out.kind[n]})" for n in sorted(seen, key=rank)), count=len(seen))
    out.first_open = next((n for n, k in out.kind.items() if k == "open"), next(iter(out.kind), ""))
    return out


