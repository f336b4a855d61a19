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
from collections import defaultdict

from flask import current_app
from flask_babel import lazy_gettext as _l

from crowdsource.accounts import centers as center_services
from crowdsource.stats import charts, periods, summary
from crowdsource.stats.disclosure import Cell, change, suppress_partition, total_shown
from crowdsource.stats.formats import compact_money, money
from crowdsource.stats.tables import NOT_SHOWN_NOTE, Column, Table
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


def _partitioned(cells_by_year):
    """Suppress within each year's partition; returns {year: (cells, total, total shown)}."""
    result = {}
    for year, cells in cells_by_year.items():
        suppress_partition(cells)
        total = sum(cell.count for cell in cells)
        result[year] = (cells, total, total_shown(total))
    return result


def _value(cell, key):
    return None if cell is None or cell.suppressed else cell.sums.get(key, 0)


def _count(cell):
    return None if cell.suppressed else cell.count


def compute(cutoff):
    """The public tables of the complete months before ``cutoff``."""
    result = Published(cutoff, {})
    first = summary.first_month()
    cells = summary.cells(first, result.last_month) if first else []
    years = sorted({int(cell.month[:4]) for cell in cells if cell.contracts or cell.tasks})
    regions = _region_of(center_services.all_centers())
    region_list = sorted({r.id: r for r in regions.values()}.values(), key=lambda r: r.path)
    return {
        table.name: table
        for table in (
            *_contract_tables(cells, years, regions, region_list, cutoff),
            *_task_tables(cells, years),
        )
    }


def _contract_tables(cells, years, regions, region_list, cutoff):
    by_type, by_region, by_month = defaultdict(dict), defaultdict(dict), defaultdict(dict)
    for year in years:
        for t in ContractType:
            by_type[year][t] = Cell((year, t.value), 0, {"value_fen": 0})
        for region in region_list:
            by_region[year][region.id] = Cell((year, region.path), 0, {"value_fen": 0})
        for month in periods.months_between(f"{year:04d}-01", f"{year:04d}-12"):
            by_month[year][month] = Cell((month,), 0, {"value_fen": 0})
    for stored in cells:
        year = int(stored.month[:4])
        if year not in by_type:
            continue
        for cell in (
            by_type[year][stored.contract_type],
            by_region[year][regions[stored.center_id].id],
            by_month[year][stored.month],
        ):
            cell.count += stored.contracts
            cell.sums["value_fen"] += stored.value_fen
    for table in (by_type, by_region, by_month):
        _partitioned({year: list(cells.values()) for year, cells in table.items()})

    year_rows, totals = [], {}
    for year in years:
        count = sum(cell.count for cell in by_type[year].values())
        value = sum(cell.sums["value_fen"] for cell in by_type[year].values())
        totals[year] = (count, value) if total_shown(count) else (None, None)
        previous = totals.get(year - 1, (None, None))[1]
        year_rows.append(
            dict(
                year=year,
                contracts=totals[year][0],
                value_fen=totals[year][1],
                change=change(totals[year][1], previous),
                suppressed=totals[year][0] is None,
            )
        )

    def row(cell, previous_cell, **keys):
        return dict(
            keys,
            contracts=_count(cell),
            value_fen=_value(cell, "value_fen"),
            change=change(_value(cell, "value_fen"), _value(previous_cell, "value_fen")),
            suppressed=cell.suppressed,
        )

    type_rows = [
        row(by_type[y][t], by_type.get(y - 1, {}).get(t), year=y, contract_type=t.value)
        for y in years
        for t in ContractType
    ]
    region_rows = [
        row(
            by_region[y][r.id],
            by_region.get(y - 1, {}).get(r.id),
            year=y,
            center=r.code,
            center_name_zh=r.name_zh,
            center_name_en=r.name_en,
        )
        for y in years
        for r in region_list
    ]
    last = periods.month_key(cutoff)
    month_rows = [
        dict(
            month=month,
            contracts=_count(cell),
            value_fen=_value(cell, "value_fen"),
            suppressed=cell.suppressed,
        )
        for y in years
        for month, cell in by_month[y].items()
        if month < last
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
            note=NOT_SHOWN_NOTE,
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
            note=NOT_SHOWN_NOTE,
        ),
    ]


def _task_tables(cells, years):
    by_type = defaultdict(dict)
    for year in years:
        for t in ContractType:
            by_type[year][t] = Cell((year, t.value), 0, {"bids": 0})
    for stored in cells:
        year = int(stored.month[:4])
        if year in by_type:
            by_type[year][stored.contract_type].count += stored.tasks
            by_type[year][stored.contract_type].sums["bids"] += stored.bids
    partitions = _partitioned({year: list(cells.values()) for year, cells in by_type.items()})

    def per_task(cell):
        if cell.suppressed or not cell.count:
            return None
        return round(cell.sums["bids"] / cell.count, 2)

    year_rows = []
    for year in years:
        cells, total, shown = partitions[year]
        bids = sum(cell.sums["bids"] for cell in cells)
        year_rows.append(
            dict(
                year=year,
                tasks=total if shown else None,
                bids_per_task=round(bids / total, 2) if shown and total else None,
                suppressed=not shown,
            )
        )
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
                    tasks=_count(by_type[y][t]),
                    bids_per_task=per_task(by_type[y][t]),
                    suppressed=by_type[y][t].suppressed,
                )
                for y in years
                for t in ContractType
            ],
            note=_l(
                "— means not shown: fewer than 3 tasks, or hidden as well so that it cannot "
                "be worked out from the totals."
            ),
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
