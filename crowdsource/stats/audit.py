"""``flask stats audit``: check what the public statistics publish, from the outside.

It reads the published tables (the rows the page, the CSV files and the API give out), not the
suppression flags behind them, and the contracts they are built from, then checks

- every shown contract cell against the primary rules (threshold and dominance, disclosure.py),
  and every shown task cell against the threshold;
- every party against every other, with the intruder check (intruder.py): the published
  values of a year as linear constraints, the party's own contracts known.

Each problem is a line of the report; the command exits non-zero when there is one.
"""

import dataclasses
from collections import defaultdict

from crowdsource.stats import intruder, periods, public, queries
from crowdsource.stats.disclosure import Cell, Rules, primary


@dataclasses.dataclass(frozen=True)
class Problem:
    table: str
    cell: tuple
    what: str

    def __str__(self):
        return f"{self.table} {'/'.join(str(part) for part in self.cell)}: {self.what}"


def _cell_of(facts):
    cell = Cell(("audit",), value_sides=public.CONTRACT_SIDES)
    for fact in facts:
        cell.add(1, fact.value_fen, {"enterprise": fact.enterprise, "payee": fact.payee})
    return cell


def audit(cutoff=None, tables=None):
    """The problems of the public tables as of ``cutoff`` (the running month's start by
    default); ``tables`` as published (computed afresh when not given)."""
    cutoff = cutoff or periods.current_month_start()
    rules = Rules.configured()
    tables = tables if tables is not None else public.compute(cutoff)
    facts = queries.contract_facts(periods.year_start(periods.FIRST_YEAR), cutoff)
    regions = public.region_of_centers()
    codes = {center.code: center.id for center in regions.values()}
    problems = []

    def members(row, table):
        if table == "years":
            return [f for f in facts if int(f.month[:4]) == row["year"]]
        if table == "contracts-by-type":
            return [
                f
                for f in facts
                if int(f.month[:4]) == row["year"] and f.contract_type.value == row["contract_type"]
            ]
        if table == "contracts-by-city":
            region = codes.get(row["center"])
            return [
                f
                for f in facts
                if int(f.month[:4]) == row["year"] and regions[f.center_id].id == region
            ]
        return [f for f in facts if f.month == row["month"]]

    constraints = defaultdict(list)
    for name in ("years", "contracts-by-type", "contracts-by-city", "contracts-by-month"):
        for row in tables[name].rows:
            if row["value_fen"] is None:
                continue
            chosen = members(row, name)
            key = tuple(
                v for k, v in row.items() if k in ("year", "contract_type", "center", "month")
            )
            if (
                sum(f.value_fen for f in chosen) != row["value_fen"]
                or len(chosen) != row["contracts"]
            ):
                problems.append(Problem(name, key, "does not match the contracts it covers"))
            rule = primary([_cell_of(chosen)], rules)
            if rule is not None:
                problems.append(
                    Problem(name, key, f"shown although the {rule.value} rule hides it")
                )
            year = row["year"] if "year" in row else int(row["month"][:4])
            atoms = frozenset(public.atom_of(f, regions) for f in chosen)
            if atoms:
                constraints[year].append(intruder.Constraint(atoms, row["value_fen"], (name, *key)))

    by_year = defaultdict(list)
    for fact in facts:
        by_year[int(fact.month[:4])].append(public.intruder_fact(fact, regions))
    for year, year_facts in sorted(by_year.items()):
        for finding in intruder.findings(year_facts, constraints.get(year, []), rules):
            who = ", ".join(
                "anyone" if party is None else ":".join(map(str, party))
                for party in finding.parties
            )
            problems.append(
                Problem(
                    "intruder",
                    (year, *finding.atom),
                    f"{who} can bound the {finding.side} {':'.join(map(str, finding.contributor))}"
                    f" ({finding.kind}: {finding.bound / 100:.2f} yuan for "
                    f"{finding.value / 100:.2f})",
                )
            )

    task_rows = tables["tasks-by-type"].rows + tables["tasks-by-year"].rows
    posted = queries.task_contributions(periods.year_start(periods.FIRST_YEAR), cutoff)
    for row in task_rows:
        if row["tasks"] is None or not row["tasks"]:
            continue
        posters = {
            enterprise
            for month, kind, enterprise, count in posted
            if int(month[:4]) == row["year"] and (row.get("contract_type") in (None, kind.value))
        }
        if len(posters) < rules.min_contributors:
            key = (row["year"], row.get("contract_type") or "all")
            problems.append(Problem("tasks", key, "shown with too few enterprises"))
    return problems
