"""The public market statistics: aggregates only, for everyone (the statistics page, the
open-data API and the CSV downloads).

No party is named, no single contract's amount appears, and no cell is built from fewer than
three contracts (or tasks): see disclosure.py for the rules and why they suffice. The tables
cover complete months only (up to the start of the month now running, in the platform's time
zone), so they change once a month; they are computed once and kept for
``STATS_CACHE_SECONDS`` per process.
"""

import dataclasses
import time

from flask import current_app
from flask_babel import lazy_gettext as _l

from crowdsource.accounts import centers as center_services
from crowdsource.stats import charts, intruder, periods, queries
from crowdsource.stats.disclosure import Cell, Reason, Rules, change, primary, suppress_partition
from crowdsource.stats.formats import compact_money, money
from crowdsource.stats.tables import Column, Table, not_shown_note, tasks_not_shown_note
from crowdsource.tasks.models import ContractType


@dataclasses.dataclass
class Published:
    """The public tables, as of ``cutoff`` (figures cover everything before it)."""

    cutoff: object
    tables: dict

    @property
    def last_month(self):
        """``"YYYY-MM"`` of the last month covered."""
        local = self.cutoff.astimezone(periods.zone())
        year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
        return f"{year:04d}-{month:02d}"


def published():
    """The public tables, computed at most once per ``STATS_CACHE_SECONDS``."""
    cutoff = periods.current_month_start()
    cache = current_app.extensions.setdefault("stats_public", {})
    lifetime = current_app.config["STATS_CACHE_SECONDS"]
    kept = cache.get(cutoff)
    if kept is not None and time.monotonic() - kept[0] < lifetime:
        return kept[1]
    result = Published(cutoff, compute(cutoff))
    cache.clear()
    if lifetime > 0:
        cache[cutoff] = (time.monotonic(), result)
    return result


def _region_of(all_centers):
    """Each center's region for the public table by city: the center at the second level of
    the tree (a city) above it or itself, or the province for the province's own tasks."""
    by_id = {center.id: center for center in all_centers}
    regions = {}
    for center in all_centers:
        ancestors = center.ancestor_ids
        regions[center.id] = by_id[ancestors[1] if len(ancestors) > 1 else ancestors[0]]
    return regions


def _value(cell):
    return None if cell is None or cell.suppressed else cell.value


def _count(cell):
    return None if cell.suppressed else cell.count


def _reason(cell):
    return cell.reason.value if cell is not None and cell.reason else None


def compute(cutoff):
    """The public tables of the complete months before ``cutoff``."""
    rules = Rules.configured()
    result = Published(cutoff, {})
    start = periods.year_start(periods.FIRST_YEAR)
    contracts = queries.contract_facts(start, cutoff)
    tasks = queries.task_contributions(start, cutoff)
    bids = queries.bid_contributions(start, cutoff)
    years = sorted({int(fact.month[:4]) for fact in contracts} | {int(row[0][:4]) for row in tasks})
    regions = _region_of(center_services.all_centers())
    region_list = sorted({r.id: r for r in regions.values()}.values(), key=lambda r: r.path)
    return {
        table.name: table
        for table in (
            *_contract_tables(
                contracts, years, regions, region_list, result.last_month, cutoff, rules
            ),
            *_task_tables(tasks, bids, years, rules),
        )
    }


CONTRACT_SIDES = ("enterprise", "payee")


def _contract_cell(key):
    return Cell(key, value_sides=CONTRACT_SIDES)


@dataclasses.dataclass
class ContractYear:
    """The cells of one year's contracts in every public table, protected together."""

    total: Cell
    by_type: dict
    by_region: dict
    by_month: dict

    @property
    def partitions(self):
        return (self.by_type, self.by_region, self.by_month)


def _contract_years(facts, years, regions, region_list, last_month):
    tables = {}
    for year in years:
        months = [
            m for m in periods.months_between(f"{year:04d}-01", f"{year:04d}-12") if m <= last_month
        ]
        tables[year] = ContractYear(
            _contract_cell(("year", year)),
            {t: _contract_cell(("type", year, t.value)) for t in ContractType},
            {r.id: _contract_cell(("region", year, r.code)) for r in region_list},
            {m: _contract_cell(("month", m)) for m in months},
        )
    for fact in facts:
        year = tables.get(int(fact.month[:4]))
        if year is None or fact.month not in year.by_month:
            continue
        contributors = {"enterprise": fact.enterprise, "payee": fact.payee}
        for cell in (
            year.total,
            year.by_type[fact.contract_type],
            year.by_region[regions[fact.center_id].id],
            year.by_month[fact.month],
        ):
            cell.add(1, fact.value_fen, contributors)
            cell.members.append(fact)
    return tables


def atom_of(fact, regions):
    """The cell a contract lies in in every contract table of its year at once."""
    return (fact.contract_type.value, regions[fact.center_id].id, fact.month)


def intruder_fact(fact, regions):
    contributors = {"enterprise": fact.enterprise, "payee": fact.payee}
    return intruder.Fact(
        fact.id, fact.value_fen, atom_of(fact, regions), contributors, fact.parties
    )


def region_of_centers():
    """{center id: its region (public table by city)}."""
    return _region_of(center_services.all_centers())


def protect(year, rules, regions):
    """Hide the cells of one year's contract tables that the rules require (disclosure.py),
    then more until the intruder check finds nothing (intruder.py). Changes the cells."""
    year.total.reason = primary([year.total], rules)
    facts = [intruder_fact(f, regions) for f in year.total.members]
    # the atoms of every cell, once: a cell's contracts do not change while it is protected
    atoms = {
        cell.key: frozenset(atom_of(f, regions) for f in cell.members)
        for cell in (year.total, *(c for partition in year.partitions for c in partition.values()))
    }
    also = set()
    while True:
        cells = []
        for partition in year.partitions:
            suppress_partition(list(partition.values()), rules, year.total.reason, also)
            cells.extend(partition.values())
        if year.total.suppressed:
            return
        shown = [cell for cell in cells if not cell.suppressed and cell.count]
        constraints = [
            intruder.Constraint(atoms[cell.key], cell.value) for cell in (year.total, *shown)
        ]
        found = intruder.findings(facts, constraints, rules)
        if not found:
            return
        for atom in {finding.atom for finding in found}:
            holding = [c for c in shown if c.key not in also and atom in atoms[c.key]]
            others = [c for c in shown if c.key not in also]
            chosen = min(holding or others, key=lambda c: (c.value, c.count, c.key), default=None)
            if chosen is None:
                year.total.reason = Reason.COMPLEMENTARY
                break
            also.add(chosen.key)


def _contract_tables(facts, years, regions, region_list, last_month, cutoff, rules):
    tables = _contract_years(facts, years, regions, region_list, last_month)
    for year in tables.values():
        protect(year, rules, regions)

    year_rows = []
    for y in years:
        total = tables[y].total
        previous = tables.get(y - 1)
        year_rows.append(
            dict(
                year=y,
                contracts=_count(total),
                value_fen=_value(total),
                change=change(_value(total), _value(previous.total) if previous else None),
                suppressed=total.suppressed,
                suppressed_by=_reason(total),
            )
        )

    def row(cell, previous_cell, **keys):
        return dict(
            keys,
            contracts=_count(cell),
            value_fen=_value(cell),
            change=change(_value(cell), _value(previous_cell)),
            suppressed=cell.suppressed,
            suppressed_by=_reason(cell),
        )

    def before(y, name, key):
        previous = tables.get(y - 1)
        return getattr(previous, name).get(key) if previous else None

    type_rows = [
        row(tables[y].by_type[t], before(y, "by_type", t), year=y, contract_type=t.value)
        for y in years
        for t in ContractType
    ]
    region_rows = [
        row(
            tables[y].by_region[r.id],
            before(y, "by_region", r.id),
            year=y,
            center=r.code,
            center_name_zh=r.name_zh,
            center_name_en=r.name_en,
        )
        for y in years
        for r in region_list
    ]
    month_rows = [
        dict(
            month=month,
            contracts=_count(cell),
            value_fen=_value(cell),
            suppressed=cell.suppressed,
            suppressed_by=_reason(cell),
        )
        for y in years
        for month, cell in tables[y].by_month.items()
    ]
    contract_columns = [
        Column("contracts", _l("Contracts"), "count"),
        Column("value_fen", _l("Value"), "money"),
    ]
    change_column = Column("change", _l("Value on the previous year"), "change")
    return [
        Table(
            "years",
            _l("Contracts by year"),
            [Column("year", _l("Year"), "year"), *contract_columns, change_column],
            year_rows,
        ),
        Table(
            "contracts-by-type",
            _l("Contracts by contract type and year"),
            [
                Column("year", _l("Year"), "year"),
                Column("contract_type", _l("Contract type"), "type"),
                *contract_columns,
                change_column,
            ],
            type_rows,
            note=not_shown_note(rules),
        ),
        Table(
            "contracts-by-city",
            _l("Contracts by city and year"),
            [
                Column("year", _l("Year"), "year"),
                Column("center", _l("City"), "center"),
                *contract_columns,
                change_column,
            ],
            region_rows,
            note=_l(
                "Each city with the counties below it; the province's own contracts under the "
                "province."
            ),
        ),
        Table(
            "contracts-by-month",
            _l("Contracts by month"),
            [Column("month", _l("Month"), "month"), *contract_columns],
            month_rows,
            note=not_shown_note(rules),
        ),
    ]


def _task_tables(tasks, bids, years, rules):
    """Tasks posted by type and year (contributors: the posting enterprises) and bids per task
    (contributors: the bidders), each partition protected on its own contributors."""
    task_cells = {y: {t: Cell(("tasks", y, t.value)) for t in ContractType} for y in years}
    bid_cells = {y: {t: Cell(("bids", y, t.value)) for t in ContractType} for y in years}
    task_totals = {y: Cell(("tasks", y)) for y in years}
    bid_totals = {y: Cell(("bids", y)) for y in years}
    for month, contract_type, enterprise, count in tasks:
        year = int(month[:4])
        if year in task_cells:
            for cell in (task_cells[year][contract_type], task_totals[year]):
                cell.add(count, 0, {"enterprise": enterprise})
    for month, contract_type, bidder, count in bids:
        year = int(month[:4])
        if year in bid_cells:
            for cell in (bid_cells[year][contract_type], bid_totals[year]):
                cell.add(count, 0, {"bidder": bidder})
    for y in years:
        task_totals[y].reason = primary([task_totals[y]], rules)
        suppress_partition(list(task_cells[y].values()), rules, task_totals[y].reason)
        # bids per task needs the tasks: hidden with them
        bid_totals[y].reason = task_totals[y].reason or primary([bid_totals[y]], rules)
        hidden_tasks = {
            ("bids", y, t.value) for t, cell in task_cells[y].items() if cell.suppressed
        }
        suppress_partition(list(bid_cells[y].values()), rules, bid_totals[y].reason, hidden_tasks)

    def per_task(task_cell, bid_cell):
        if task_cell.suppressed or bid_cell.suppressed or not task_cell.count:
            return None
        return round(bid_cell.count / task_cell.count, 2)

    def reason(task_cell, bid_cell):
        return _reason(task_cell) or (_reason(bid_cell) if task_cell.count else None)

    year_rows = [
        dict(
            year=y,
            tasks=_count(task_totals[y]),
            bids_per_task=per_task(task_totals[y], bid_totals[y]),
            suppressed=task_totals[y].suppressed,
            suppressed_by=reason(task_totals[y], bid_totals[y]),
        )
        for y in years
    ]
    columns = [
        Column("tasks", _l("Tasks posted"), "count"),
        Column("bids_per_task", _l("Bids per task"), "ratio"),
    ]
    return [
        Table(
            "tasks-by-year",
            _l("Tasks posted by year"),
            [Column("year", _l("Year"), "year"), *columns],
            year_rows,
        ),
        Table(
            "tasks-by-type",
            _l("Tasks posted by contract type and year"),
            [
                Column("year", _l("Year"), "year"),
                Column("contract_type", _l("Contract type"), "type"),
                *columns,
            ],
            [
                dict(
                    year=y,
                    contract_type=t.value,
                    tasks=_count(task_cells[y][t]),
                    bids_per_task=per_task(task_cells[y][t], bid_cells[y][t]),
                    suppressed=task_cells[y][t].suppressed,
                    suppressed_by=reason(task_cells[y][t], bid_cells[y][t]),
                )
                for y in years
                for t in ContractType
            ],
            note=tasks_not_shown_note(rules),
        ),
    ]


def with_charts(tables, recent_months=24):
    """The tables with the charts of the public page, drawn from the shown cells only (copies:
    the cached tables are shared by readers of every language)."""
    tables = dict(tables)
    by_type = tables["contracts-by-type"]
    years = sorted({row["year"] for row in by_type.rows})[-6:]
    tables[by_type.name] = dataclasses.replace(
        by_type,
        chart=charts.bar_chart(
            [(y, str(y)) for y in years],
            charts.series_of((t, t.label) for t in ContractType),
            {
                (row["year"], ContractType(row["contract_type"])): row["value_fen"]
                for row in by_type.rows
                if row["year"] in years
            },
            compact_money,
            money,
        ),
    )
    by_month = tables["contracts-by-month"]
    rows = by_month.rows[-recent_months:]
    tables[by_month.name] = dataclasses.replace(
        by_month,
        chart=charts.line_chart(
            [(row["month"], row["month"]) for row in rows],
            charts.series_of([("value", _l("Value"))]),
            {(row["month"], "value"): row["value_fen"] for row in rows},
            compact_money,
            money,
        ),
    )
    return tables
