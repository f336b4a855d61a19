"""The dashboard's figures equal what the raw rows say, for a market with known totals per
contract type, center and year (on SQLite and on PostgreSQL)."""

import statistics
from collections import Counter, defaultdict

import sqlalchemy as sa

from crowdsource.accounts import centers
from crowdsource.contracts.models import Contract
from crowdsource.db import db
from crowdsource.payments import escrow, statements
from crowdsource.payments.models import LedgerAccount
from crowdsource.stats import figures, periods
from crowdsource.stats.figures import Filters
from crowdsource.tasks.models import ContractType
from tests.payments.support import read_csv
from tests.stats.market import CONTRACTS, UNAWARDED_2025

YEARS = (2024, 2025)
CITY = {"laoshan": "qingdao", "qingdao": "qingdao", "zibo": "zibo", "shandong": "shandong"}


def known_totals(key):
    """(count, value) per key(year, type, center) from the seeded list."""
    totals = defaultdict(lambda: [0, 0])
    for year, _, kind, code, price in CONTRACTS:
        for one in key(year, kind, code):
            totals[one][0] += 1
            totals[one][1] += price
    return {k: tuple(v) for k, v in totals.items()}


def raw_totals(key):
    """(count, value) per key(year, type, center) from the contract rows as stored."""
    totals = defaultdict(lambda: [0, 0])
    for contract in db.session.scalars(sa.select(Contract)):
        year = contract.signed_at.astimezone(periods.zone()).year
        for one in key(year, contract.contract_type.value, contract.center.code):
            totals[one][0] += 1
            totals[one][1] += contract.price_fen
    return {k: tuple(v) for k, v in totals.items()}


def tables(year_from=2024, year_to=None, **filters):
    year_to = year_to or periods.current_year()
    sections = figures.dashboard(Filters(year_from, year_to, **filters), centers.all_centers())
    return figures.all_tables(sections)


def test_contracts_by_type_and_year_equal_the_rows(market):
    by_type = {
        (row["year"], row["contract_type"]): (row["contracts"], row["value_fen"])
        for row in tables()["contracts-by-type"].rows
        if row["contracts"]
    }
    expected = known_totals(lambda year, kind, code: [(year, kind)])
    assert by_type == expected == raw_totals(lambda year, kind, code: [(year, kind)])
    assert by_type[(2025, "transfer")] == (1, 1_234_567)


def test_contracts_by_year_with_change_on_the_previous_year(market):
    rows = {row["year"]: row for row in tables()["contracts-by-year"].rows}
    expected = known_totals(lambda year, kind, code: [year])
    for year in YEARS:
        assert (rows[year]["contracts"], rows[year]["value_fen"]) == expected[year]
    assert rows[2024]["change"] is None  # nothing in 2023
    assert abs(rows[2025]["change"] - (expected[2025][1] / expected[2024][1] - 1)) < 1e-9


def test_contracts_by_center_count_each_center_with_its_subtree(market):
    rows = {(row["center"], row["year"]): row for row in tables()["contracts-by-center"].rows}

    def subtree(year, kind, code):
        above = {"laoshan": ["laoshan", "qingdao"], "qingdao": ["qingdao"], "zibo": ["zibo"]}
        return [(center, year) for center in ["shandong", *above.get(code, [])]]

    expected = known_totals(subtree)
    for key, (count, value) in expected.items():
        assert (rows[key]["contracts"], rows[key]["value_fen"]) == (count, value), key
    assert rows[("zibo", 2024)]["contracts"] == 0
    assert expected == raw_totals(subtree)


def test_contracts_by_month_add_up_to_the_years(market):
    rows = tables(2025, 2025)["contracts-by-month"].rows
    assert len(rows) == 12
    by_month = Counter()
    for year, month, _, _, _ in CONTRACTS:
        if year == 2025:
            by_month[f"2025-{month:02d}"] += 1
    assert {row["month"]: row["contracts"] for row in rows if row["contracts"]} == by_month
    assert sum(row["value_transfer_fen"] for row in rows) == 1_234_567


def test_a_type_filter_narrows_every_figure(market):
    result = tables(contract_type=ContractType.SERVICE)
    assert {row["contract_type"] for row in result["contracts-by-type"].rows} == {"service"}
    years = {row["year"]: row["contracts"] for row in result["contracts-by-year"].rows}
    assert (years[2024], years[2025]) == (3, 5)
    posted = {row["year"]: row["tasks"] for row in result["tasks-by-year"].rows}
    assert (posted[2024], posted[2025]) == (3, 5)


def test_tasks_bids_award_share_and_time_to_award(market):
    rows = {row["year"]: row for row in tables()["tasks-by-year"].rows}
    contracts_2025 = sum(1 for c in CONTRACTS if c[0] == 2025)
    assert rows[2024]["tasks"] == 6 and rows[2024]["awarded"] == 6
    assert rows[2025]["tasks"] == contracts_2025 + len(UNAWARDED_2025)
    assert rows[2025]["awarded"] == contracts_2025
    assert rows[2025]["awarded_share"] == contracts_2025 / rows[2025]["tasks"]
    # one bid (received the day before the award) on each awarded task, none on the others
    assert rows[2025]["bids_per_task"] == round(contracts_2025 / rows[2025]["tasks"], 2)
    # each task was posted 3 + (its index modulo 10) days before its contract was signed
    waits = [3 + i % 10 for i, c in enumerate(CONTRACTS) if c[0] == 2025]
    assert rows[2025]["mean_days_to_award"] == round(statistics.mean(waits), 1)
    by_type = {row["contract_type"]: row for row in tables()["tasks-by-type"].rows}
    assert by_type["consulting"]["tasks"] == 4 + len(UNAWARDED_2025)


def test_money_equals_the_ledger(market):
    year = periods.current_year()
    rows = {row["year"]: row for row in tables()["money-by-year"].rows}
    totals = defaultdict(int)
    for contract in db.session.scalars(sa.select(Contract)):
        _, money = statements.contract_money(contract)
        for field in ("funded", "released", "refunded", "commission", "brokerage"):
            totals[field] += getattr(money, field)
    shown = {field: rows[year][f"{field}_fen"] for field in totals}
    assert shown == dict(totals)
    commission = db.session.scalar(
        sa.select(LedgerAccount.balance).where(LedgerAccount.code == escrow.COMMISSION_REVENUE)
    )
    assert shown["commission"] == commission > 0
    assert shown["brokerage"] > 0 and shown["refunded"] > 0
    assert shown["funded"] == shown["released"] + shown["refunded"]  # nothing left in escrow
    months = {row["month"]: row for row in tables()["money-by-month"].rows}
    assert months[periods.current_month()]["released_fen"] == shown["released"]


def test_disputes_opened_ruled_and_median_time_to_ruling(market):
    rows = {row["year"]: row for row in tables()["disputes-by-year"].rows}
    ruled_year = periods.current_year()
    opened_year = market.money.opened.astimezone(periods.zone()).year
    assert rows[opened_year]["opened"] == 1
    assert rows[ruled_year]["ruled"] == 1
    assert 5.9 <= rows[ruled_year]["median_days_to_ruling"] <= 6.1


def test_the_dashboard_csv_has_the_same_figures(market, people, login, client):
    login(people.admin)
    response = client.get("/statistics/dashboard/contracts-by-type.csv?year_from=2024&year_to=2025")
    rows = read_csv(response)
    assert rows[0] == ["year", "contract_type", "contracts", "value_yuan", "change"]
    lines = {(r[0], r[1]): (r[2], r[3]) for r in rows[1:]}
    assert lines[("2025", "transfer")] == ("1", "12345.67")
    assert lines[("2024", "consulting")] == ("0", "0.00")
