"""The public statistics and the open-data API publish aggregates only: no party name, no
single contract's amount, no private task, no cell of fewer than 3 enterprises or 3 payees,
and nothing that subtraction from the totals would turn into one; each hidden cell says which
rule hid it."""

import json
from collections import Counter, defaultdict

import pytest

from crowdsource.stats import periods
from tests.payments.support import read_csv
from tests.stats.market import (
    CONTRACTS,
    DRAFT_TASK_TITLE,
    OPEN_TASK_TITLE,
    PARTIES,
    PARTY_NAMES,
    PRIVATE_TASK_TITLE,
    UNAWARDED_2025,
)

CITY = {"laoshan": "qingdao", "qingdao": "qingdao", "zibo": "zibo", "shandong": "shandong"}
TABLES = [
    "years",
    "contracts-by-type",
    "contracts-by-city",
    "contracts-by-month",
    "tasks-by-year",
    "tasks-by-type",
]


def api_rows(client, name, **params):
    """Every row of a public table through the API, page by page."""
    rows, page = [], 1
    while True:
        query = {"per_page": 100, "page": page, **params}
        response = client.get(f"/api/v1/stats/{name}", query_string=query)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        rows += body["items"]
        if page >= body["pages"]:
            return rows
        page += 1


def raw_contract_counts():
    """Contracts per cell of each public contract table, from the seeded list."""
    counts = defaultdict(Counter)
    for year, month, kind, code, _ in CONTRACTS:
        counts["years"][(year,)] += 1
        counts["contracts-by-type"][(year, kind)] += 1
        counts["contracts-by-city"][(year, CITY[code])] += 1
        counts["contracts-by-month"][(f"{year}-{month:02d}",)] += 1
    return counts


def cell_key(name, row):
    return {
        "years": lambda: (row["year"],),
        "contracts-by-type": lambda: (row["year"], row["contract_type"]),
        "contracts-by-city": lambda: (row["year"], row["center"]),
        "contracts-by-month": lambda: (row["month"],),
    }[name]()


def test_the_tables_show_the_known_totals_and_hide_the_small_cells(market, client):
    years = {row["year"]: row for row in api_rows(client, "years")}
    assert years[2024]["contracts"] == 6 and years[2025]["contracts"] == 13
    assert years[2025]["value_fen"] == sum(c[4] for c in CONTRACTS if c[0] == 2025)
    types = {(r["year"], r["contract_type"]): r for r in api_rows(client, "contracts-by-type")}
    # the single transfer contract is hidden (one enterprise), and the smallest other type with
    # it, so that the year less the shown types is not the transfer contract
    assert types[(2025, "transfer")] == {
        "year": 2025,
        "contract_type": "transfer",
        "contracts": None,
        "value_fen": None,
        "change": None,
        "suppressed": True,
        "suppressed_by": "threshold",
    }
    assert types[(2025, "consulting")]["suppressed_by"] == "complementary"
    assert types[(2025, "consulting")]["value_fen"] is None
    assert types[(2025, "development")]["contracts"] == 3
    assert types[(2025, "development")]["suppressed_by"] is None
    assert types[(2025, "service")]["value_fen"] == sum(
        c[4] for c in CONTRACTS if c[:1] == (2025,) and c[2] == "service"
    )
    assert types[(2025, "service")]["change"] == pytest.approx(
        types[(2025, "service")]["value_fen"] / types[(2024, "service")]["value_fen"] - 1
    )
    assert types[(2024, "transfer")]["contracts"] == 0  # none: nothing to hide
    cities = {(r["year"], r["center"]): r for r in api_rows(client, "contracts-by-city")}
    assert cities[(2025, "qingdao")]["contracts"] == 8
    # Zibo's one enterprise, and the province's own two
    assert cities[(2025, "zibo")]["suppressed_by"] == "threshold"
    assert cities[(2025, "shandong")]["suppressed_by"] == "threshold"
    assert cities[(2025, "qingdao")]["center_name_zh"] == "青岛市"
    tasks = {(r["year"], r["contract_type"]): r for r in api_rows(client, "tasks-by-type")}
    assert tasks[(2025, "consulting")]["tasks"] == 4 + len(UNAWARDED_2025)
    assert tasks[(2025, "transfer")]["tasks"] is None


def test_no_shown_cell_counts_fewer_than_3_contracts(market, client):
    raw = raw_contract_counts()
    for name in ("years", "contracts-by-type", "contracts-by-city", "contracts-by-month"):
        for row in api_rows(client, name):
            count = raw[name][cell_key(name, row)]
            if row["suppressed"]:
                assert row["contracts"] is None and row["value_fen"] is None
            else:
                assert row["contracts"] == count
                assert count == 0 or count >= 3, (name, row)


def raw_contributors():
    """The enterprises and payees of each cell of each public contract table."""
    found = defaultdict(lambda: defaultdict(lambda: (set(), set())))
    for (year, month, kind, code, _), (enterprise, payee) in zip(CONTRACTS, PARTIES, strict=True):
        for name, key in (
            ("years", (year,)),
            ("contracts-by-type", (year, kind)),
            ("contracts-by-city", (year, CITY[code])),
            ("contracts-by-month", (f"{year}-{month:02d}",)),
        ):
            found[name][key][0].add(enterprise)
            found[name][key][1].add(payee)
    return found


def test_no_shown_cell_has_fewer_than_3_enterprises_or_payees(market, client):
    contributors = raw_contributors()
    seen = set()
    for name in ("years", "contracts-by-type", "contracts-by-city", "contracts-by-month"):
        for row in api_rows(client, name):
            enterprises, payees = contributors[name][cell_key(name, row)]
            if row["suppressed"]:
                assert row["suppressed_by"] in ("threshold", "dominance", "complementary")
                if row["suppressed_by"] == "threshold":
                    assert len(enterprises) < 3 or len(payees) < 3, (name, row)
                seen.add(row["suppressed_by"])
            else:
                assert row["suppressed_by"] is None
                assert not enterprises or (len(enterprises) >= 3 and len(payees) >= 3), row
    assert seen == {"threshold", "complementary"}


def test_subtraction_from_the_totals_reveals_no_small_cell(market, client):
    """Per year, the hidden cells of a table either are all the year has (its total hidden
    too) or are at least two non-empty cells holding at least 3 contracts together."""
    raw = raw_contract_counts()
    totals = {row["year"]: row for row in api_rows(client, "years")}
    for name in ("contracts-by-type", "contracts-by-city", "contracts-by-month"):
        hidden = defaultdict(list)
        for row in api_rows(client, name):
            if row["suppressed"]:
                year = int(str(row.get("year") or row["month"])[:4])
                hidden[year].append(raw[name][cell_key(name, row)])
        for year, counts in hidden.items():
            nonzero = [count for count in counts if count]
            if totals[year]["suppressed"]:
                continue
            assert len(nonzero) >= 2 and sum(nonzero) >= 3, (name, year, counts)


def test_filters_select_published_rows_only(market, client):
    rows = api_rows(client, "contracts-by-type", year_from=2025, contract_type="service")
    assert [(r["year"], r["contract_type"]) for r in rows] == [(2025, "service")]
    rows = api_rows(client, "contracts-by-city", center="qingdao")
    assert {r["center"] for r in rows} == {"qingdao"}
    response = client.get("/api/v1/stats/contracts-by-city?center=laoshan")
    assert response.status_code == 404
    assert "province and its cities" in response.get_json()["error"]
    months = api_rows(client, "contracts-by-month", month_from="2025-03", month_to="2025-04")
    assert [r["month"] for r in months] == ["2025-03", "2025-04"]


def test_the_current_month_is_not_published(market, client, make_task, people):
    make_task(people.owner, people.enterprise, title="Posted this month")
    months = [r["month"] for r in api_rows(client, "contracts-by-month")]
    assert periods.current_month() not in months
    body = client.get("/api/v1/stats/years").get_json()
    assert body["covers_until"] < periods.current_month()


def every_public_response(client, market):
    """The text of every public page, download and API answer."""
    urls = ["/statistics", "/api/v1/", "/api/v1/openapi.json", "/api/v1/docs"]
    urls += [f"/statistics/{name}.csv" for name in TABLES]
    urls += [f"/api/v1/stats/{name}?per_page=100" for name in TABLES]
    urls += ["/api/v1/centers?per_page=100", "/api/v1/centers/qingdao"]
    urls += ["/api/v1/tasks?per_page=100", f"/api/v1/tasks/{market.open_task.id}"]
    urls += [f"/api/v1/tasks?q={word}" for word in ("alloy", "Confidential", "furnace")]
    urls += [f"/api/v1/tasks/{market.private_task.id}", f"/api/v1/tasks/{market.draft.id}"]
    urls += [f"/api/v1/tasks/{c.task_id}" for c in market.contracts]
    texts = {}
    for language in ("en", "zh_CN"):
        for url in urls:
            response = client.get(url, headers={"Accept-Language": language})
            assert response.status_code in (200, 404), (url, response.status_code)
            text = response.get_data(as_text=True)
            if response.mimetype == "application/json":
                text += json.dumps(response.get_json(), ensure_ascii=False)
            texts[(language, url)] = text
    return texts


def amount_texts(fen):
    yuan = f"{fen // 100}.{fen % 100:02d}"
    return [str(fen), yuan, f"{fen // 100:,}.{fen % 100:02d}"]


def test_no_response_names_a_party_or_shows_a_single_contract_or_a_private_task(market, client):
    texts = every_public_response(client, market)
    secrets = [*PARTY_NAMES, PRIVATE_TASK_TITLE, DRAFT_TASK_TITLE]
    for _, _, _, _, price in CONTRACTS:
        secrets += amount_texts(price)
    for contract in market.contracts:
        secrets.append(contract.number)
    for (language, url), text in texts.items():
        for secret in secrets:
            assert secret not in text, (secret, language, url)
    # the search finds what is public: the open task is there
    assert OPEN_TASK_TITLE in texts[("en", "/api/v1/tasks?per_page=100")]


def test_the_public_page_shows_charts_tables_and_csv_links(market, client):
    page = client.get("/statistics").get_data(as_text=True)
    assert page.count('data-testid="chart"') == 2
    # bars of the shown cells only: 2024 development and service, 2025 consulting and service
    assert page.count('data-testid="chart-bar"') == 4
    for name in TABLES:
        assert f'data-testid="table-{name}"' in page
        assert f'href="/statistics/{name}.csv"' in page
    assert "fewer than 3 different enterprises or 3 different payees" in page
    # a hidden figure is marked with the rule that hid it
    assert 'data-testid="suppressed-threshold"' in page
    assert 'data-testid="suppressed-complementary"' in page


def test_csv_downloads_hold_the_published_rows(market, client):
    rows = read_csv(client.get("/statistics/contracts-by-type.csv"))
    assert rows[0] == [
        "year",
        "contract_type",
        "contracts",
        "value_yuan",
        "change",
        "suppressed_by",
    ]
    lines = {(r[0], r[1]): r[2:] for r in rows[1:]}
    assert lines[("2025", "transfer")] == ["", "", "", "threshold"]
    assert lines[("2025", "consulting")] == ["", "", "", "complementary"]
    assert lines[("2025", "development")][0] == "3"
    cities = read_csv(client.get("/statistics/contracts-by-city.csv"))
    assert cities[0][:3] == ["year", "center", "center_name"]
    assert client.get("/statistics/nothing.csv").status_code == 404
