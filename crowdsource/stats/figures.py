"""The dashboard of center managers (their subtrees) and the admin (everything): contracts,
tasks, money and disputes by contract type, center, month and year.

Every figure is added up from the monthly cells of the summary (summary.py); only disputes,
which are few, are read row by row (for the median time to a ruling).
"""

import dataclasses
import statistics
from collections import defaultdict

from flask_babel import lazy_gettext as _l

from crowdsource.stats import charts, periods, queries, summary
from crowdsource.stats.disclosure import change
from crowdsource.stats.formats import compact_money, money, plain_count
from crowdsource.stats.tables import Column, Table
from crowdsource.tasks.models import ContractType

DAY = 86400


@dataclasses.dataclass
class Filters:
    year_from: int
    year_to: int
    #: a select of the ids of the centers covered, or None for all
    centers: object = None
    contract_type: ContractType | None = None

    @property
    def years(self):
        return list(range(self.year_from, self.year_to + 1))

    def cut(self):
        """The slice the queries read: from the year before the first (for its change on the
        previous year) to the end of the last."""
        return queries.Slice(
            periods.year_start(self.year_from - 1),
            periods.year_start(self.year_to + 1),
            self.centers,
            self.contract_type,
        )

    def months(self):
        last = min(f"{self.year_to:04d}-12", periods.current_month())
        return periods.months_between(f"{self.year_from:04d}-01", last)


@dataclasses.dataclass
class Section:
    title: object
    tables: list


def _year(month):
    return int(month[:4])


def _median_days(seconds):
    return round(statistics.median(seconds) / DAY, 1) if seconds else None


def _share(part, whole):
    return part / whole if whole else None


def _types(filters):
    return [filters.contract_type] if filters.contract_type else list(ContractType)


# --- contracts -----------------------------------------------------------------------------


def contract_tables(filters, cells, visible_centers):
    by_year_type = defaultdict(lambda: [0, 0])
    by_year = defaultdict(lambda: [0, 0])
    by_month_type = defaultdict(int)
    by_month = defaultdict(lambda: [0, 0])
    by_center_year = defaultdict(lambda: [0, 0])
    paths = {center.id: center.ancestor_ids for center in visible_centers}
    for cell in cells:
        month, contract_type, center_id = cell.month, cell.contract_type, cell.center_id
        count, value = cell.contracts, cell.value_fen
        year = _year(month)
        for totals in (by_year_type[(year, contract_type)], by_year[year], by_month[month]):
            totals[0] += count
            totals[1] += value
        by_month_type[(month, contract_type)] += value
        for ancestor in paths.get(center_id, ()):
            totals = by_center_year[(ancestor, year)]
            totals[0] += count
            totals[1] += value

    def row(totals, previous, **keys):
        return dict(
            keys, contracts=totals[0], value_fen=totals[1], change=change(totals[1], previous[1])
        )

    types = _types(filters)
    type_rows = [
        row(by_year_type[(y, t)], by_year_type[(y - 1, t)], year=y, contract_type=t.value)
        for y in filters.years
        for t in types
    ]
    year_rows = [row(by_year[y], by_year[y - 1], year=y) for y in filters.years]
    center_rows = [
        row(
            by_center_year[(c.id, y)],
            by_center_year[(c.id, y - 1)],
            center=c.code,
            center_name_zh=c.name_zh,
            center_name_en=c.name_en,
            depth=c.depth,
            year=y,
        )
        for c in visible_centers
        for y in filters.years
    ]
    months = filters.months()
    month_rows = [
        dict(
            {f"value_{t.value}_fen": by_month_type[(m, t)] for t in types},
            month=m,
            contracts=by_month[m][0],
            value_fen=by_month[m][1],
        )
        for m in months
    ]
    series = charts.series_of((t, t.label) for t in types)
    by_type = Table(
        "contracts-by-type",
        _l("Contracts by contract type and year"),
        [
            Column("year", _l("Year"), "year"),
            Column("contract_type", _l("Contract type"), "type"),
            Column("contracts", _l("Contracts"), "count"),
            Column("value_fen", _l("Value"), "money"),
            Column("change", _l("Value on the previous year"), "change"),
        ],
        type_rows,
        chart=charts.bar_chart(
            [(y, str(y)) for y in filters.years],
            series,
            {(y, t): by_year_type[(y, t)][1] for y in filters.years for t in types},
            compact_money,
            money,
        ),
    )
    by_month_table = Table(
        "contracts-by-month",
        _l("Contract value by month"),
        [Column("month", _l("Month"), "month")]
        + [Column(f"value_{t.value}_fen", t.label, "money") for t in types]
        + [Column("value_fen", _l("All types"), "money")],
        month_rows,
        chart=charts.line_chart(
            [(m, m) for m in months],
            series,
            {(m, t): by_month_type[(m, t)] for m in months for t in types},
            compact_money,
            money,
        ),
    )
    by_year_table = Table(
        "contracts-by-year",
        _l("Contracts by year"),
        [
            Column("year", _l("Year"), "year"),
            Column("contracts", _l("Contracts"), "count"),
            Column("value_fen", _l("Value"), "money"),
            Column("change", _l("Value on the previous year"), "change"),
        ],
        year_rows,
    )
    by_center = Table(
        "contracts-by-center",
        _l("Contracts by center and year (each center with the centers below it)"),
        [
            Column("center", _l("Center"), "center"),
            Column("year", _l("Year"), "year"),
            Column("contracts", _l("Contracts"), "count"),
            Column("value_fen", _l("Value"), "money"),
            Column("change", _l("Value on the previous year"), "change"),
        ],
        center_rows,
    )
    return [by_year_table, by_type, by_month_table, by_center]


# --- tasks ---------------------------------------------------------------------------------


def task_tables(filters, cells):
    """Tasks posted, bids received and contracts awarded in each period (each counted when it
    happened), and the mean time from a task's posting to its award."""
    posted, awarded, bids, seconds = (defaultdict(int) for _ in range(4))
    for cell in cells:
        year = _year(cell.month)
        keys = (year, cell.month, cell.contract_type) if year >= filters.year_from else (year,)
        for key in keys:
            posted[key] += cell.tasks
            awarded[key] += cell.contracts
            bids[key] += cell.bids
            seconds[key] += cell.award_seconds

    def row(key, **values):
        return dict(
            values,
            tasks=posted[key],
            bids_per_task=round(bids[key] / posted[key], 2) if posted[key] else None,
            awarded=awarded[key],
            awarded_share=_share(awarded[key], posted[key]),
            mean_days_to_award=(
                round(seconds[key] / awarded[key] / DAY, 1) if awarded[key] else None
            ),
        )

    columns = [
        Column("tasks", _l("Tasks posted"), "count"),
        Column("bids_per_task", _l("Bids per task"), "ratio"),
        Column("awarded", _l("Contracts awarded"), "count"),
        Column("awarded_share", _l("Awards per task posted"), "share"),
        Column("mean_days_to_award", _l("Mean days from posting to award"), "days"),
    ]
    months = filters.months()
    lines = {"tasks": _l("Tasks posted"), "awarded": _l("Contracts awarded")}
    counts = {"tasks": posted, "awarded": awarded}
    note = _l(
        "Each counted when it happened: tasks when posted, bids when received, awards when "
        "the contract was signed."
    )
    return [
        Table(
            "tasks-by-year",
            _l("Tasks by year"),
            [Column("year", _l("Year"), "year"), *columns],
            [row(year, year=year) for year in filters.years],
            note=note,
        ),
        Table(
            "tasks-by-type",
            _l("Tasks by contract type (whole period)"),
            [Column("contract_type", _l("Contract type"), "type"), *columns],
            [row(t, contract_type=t.value) for t in _types(filters)],
            note=note,
        ),
        Table(
            "tasks-by-month",
            _l("Tasks posted and contracts awarded by month"),
            [
                Column("month", _l("Month"), "month"),
                Column("tasks", _l("Tasks posted"), "count"),
                Column("awarded", _l("Contracts awarded"), "count"),
            ],
            [dict(month=m, tasks=posted[m], awarded=awarded[m]) for m in months],
            chart=charts.line_chart(
                [(m, m) for m in months],
                charts.series_of(lines.items()),
                {(m, key): counts[key][m] for m in months for key in lines},
                plain_count,
                plain_count,
                whole=True,
            ),
        ),
    ]


# --- money ---------------------------------------------------------------------------------

MONEY_LABELS = {
    "funded": _l("Paid into escrow"),
    "released": _l("Released"),
    "refunded": _l("Refunded"),
    "commission": _l("Platform commission"),
    "brokerage": _l("Agency brokerage"),
}


def money_tables(filters, cells):
    by_month = defaultdict(lambda: dict.fromkeys(queries.MONEY_FIGURES, 0))
    by_year = defaultdict(lambda: dict.fromkeys(queries.MONEY_FIGURES, 0))
    for cell in cells:
        amounts = (
            cell.funded_fen,
            cell.released_fen,
            cell.refunded_fen,
            cell.commission_fen,
            cell.brokerage_fen,
        )
        if not any(amounts):
            continue
        for figures in (by_month[cell.month], by_year[_year(cell.month)]):
            for key, amount in zip(queries.MONEY_FIGURES, amounts, strict=True):
                figures[key] += amount
    columns = [Column(f"{key}_fen", label, "money") for key, label in MONEY_LABELS.items()]

    def row(figures, **keys):
        return dict(keys, **{f"{key}_fen": amount for key, amount in figures.items()})

    months = filters.months()
    year_rows = [
        row(by_year[y], year=y, change=change(by_year[y]["released"], by_year[y - 1]["released"]))
        for y in filters.years
    ]
    lines = ("funded", "released", "refunded")
    return [
        Table(
            "money-by-year",
            _l("Money by year"),
            [
                Column("year", _l("Year"), "year"),
                *columns,
                Column("change", _l("Released on the previous year"), "change"),
            ],
            year_rows,
        ),
        Table(
            "money-by-month",
            _l("Money by month"),
            [Column("month", _l("Month"), "month"), *columns],
            [row(by_month[m], month=m) for m in months],
            chart=charts.line_chart(
                [(m, m) for m in months],
                charts.series_of((key, MONEY_LABELS[key]) for key in lines),
                {(m, key): by_month[m][key] for m in months for key in lines},
                compact_money,
                money,
            ),
        ),
    ]


# --- disputes ------------------------------------------------------------------------------


def dispute_tables(filters, facts):
    opened, ruled, waits = defaultdict(int), defaultdict(int), defaultdict(list)
    for fact in facts:
        opened[_year(periods.month_key(fact.opened_at))] += 1
        if fact.ruled_at is not None:
            year = _year(periods.month_key(fact.ruled_at))
            ruled[year] += 1
            waits[year].append((fact.ruled_at - fact.opened_at).total_seconds())
    rows = [
        dict(
            year=y,
            opened=opened[y],
            ruled=ruled[y],
            median_days_to_ruling=_median_days(waits[y]),
        )
        for y in filters.years
    ]
    return [
        Table(
            "disputes-by-year",
            _l("Disputes by year"),
            [
                Column("year", _l("Year"), "year"),
                Column("opened", _l("Opened"), "count"),
                Column("ruled", _l("Ruled"), "count"),
                Column("median_days_to_ruling", _l("Median days to the first ruling"), "days"),
            ],
            rows,
            note=_l(
                "Rulings by the year of the first ruling: a case may be opened in one year and "
                "ruled in the next."
            ),
        )
    ]


def dashboard(filters, visible_centers):
    """The sections of the dashboard for ``filters``; ``visible_centers`` are the centers the
    reader may see (their rows in the table by center)."""
    cells = summary.cells(
        f"{filters.year_from - 1:04d}-01",
        f"{filters.year_to:04d}-12",
        filters.centers,
        filters.contract_type,
    )
    return [
        Section(_l("Contracts"), contract_tables(filters, cells, visible_centers)),
        Section(_l("Tasks"), task_tables(filters, cells)),
        Section(_l("Money"), money_tables(filters, cells)),
        Section(_l("Disputes"), dispute_tables(filters, queries.disputes(filters.cut()))),
    ]


def all_tables(sections):
    return {table.name: table for section in sections for table in section.tables}
