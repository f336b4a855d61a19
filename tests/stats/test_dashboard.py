"""Who sees which dashboard: a center manager their subtree only, the admin everything, others
nothing; and what the dashboard page shows."""

from tests.payments.support import read_csv
from tests.stats.market import CONTRACTS

QINGDAO = {"qingdao", "laoshan"}


def known(year, codes):
    chosen = [c for c in CONTRACTS if c[0] == year and c[3] in codes]
    return len(chosen), sum(c[4] for c in chosen)


def csv_rows(client, name, query="year_from=2024&year_to=2025"):
    response = client.get(f"/statistics/dashboard/{name}.csv?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = read_csv(response)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def yuan(fen):
    return f"{fen // 100}.{fen % 100:02d}"


def test_a_manager_of_qingdao_sees_qingdao_and_its_subtree_only(market, people, login, client):
    login(people.managers["qingdao"])
    centers = {row["center"] for row in csv_rows(client, "contracts-by-center")}
    assert centers == QINGDAO
    years = {row["year"]: row for row in csv_rows(client, "contracts-by-year")}
    for year in (2024, 2025):
        count, value = known(year, QINGDAO)
        assert (years[str(year)]["contracts"], years[str(year)]["value_yuan"]) == (
            str(count),
            yuan(value),
        )
    types = {(r["year"], r["contract_type"]): r for r in csv_rows(client, "contracts-by-type")}
    assert types[("2025", "transfer")]["contracts"] == "0"  # the transfer was in Zibo
    page = client.get("/statistics/dashboard").get_data(as_text=True)
    assert "Zibo" not in page and "Shandong" not in page
    assert "Laoshan District" in page


def test_a_manager_cannot_ask_for_another_center(market, people, login, client):
    login(people.managers["qingdao"])
    zibo = people.centers["zibo"].id
    response = client.get(f"/statistics/dashboard?center_id={zibo}")
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    response = client.get(f"/statistics/dashboard/contracts-by-year.csv?center_id={zibo}")
    assert response.status_code == 400


def test_a_manager_narrows_to_a_center_of_the_subtree(market, people, login, client):
    login(people.managers["qingdao"])
    laoshan = people.centers["laoshan"].id
    query = f"year_from=2024&year_to=2025&center_id={laoshan}"
    rows = csv_rows(client, "contracts-by-year", query)
    count, value = known(2025, {"laoshan"})
    assert (rows[1]["contracts"], rows[1]["value_yuan"]) == (str(count), yuan(value))


def test_the_manager_of_zibo_sees_zibo(market, people, login, client):
    login(people.managers["zibo"])
    years = {row["year"]: row for row in csv_rows(client, "contracts-by-year")}
    assert years["2025"]["contracts"] == "2"
    assert years["2024"]["contracts"] == "0"


def test_the_admin_and_the_province_manager_see_everything(market, people, login, client):
    for user in (people.admin, people.managers["shandong"]):
        login(user)
        years = {row["year"]: row for row in csv_rows(client, "contracts-by-year")}
        assert years["2025"]["contracts"] == str(known(2025, {c[3] for c in CONTRACTS})[0])


def test_people_who_manage_nothing_get_no_dashboard(market, people, login, client):
    response = client.get("/statistics/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(people.owner)
    assert client.get("/statistics/dashboard").status_code == 403
    assert client.get("/statistics/dashboard/contracts-by-year.csv").status_code == 403


def test_the_dashboard_shows_charts_beside_tables_for_every_section(market, people, login, client):
    login(people.admin)
    response = client.get("/statistics/dashboard?year_from=2024")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('data-testid="section"') == 4
    assert page.count('data-testid="chart"') == 4  # value by type, by month; tasks; money
    assert page.count('data-testid="chart-bar"') == 6  # 2024: 2 types, 2025: 4 types
    assert "Technology transfer" in page and "¥12,345.67" in page
    for name in ("contracts-by-type", "money-by-month", "disputes-by-year"):
        assert f'data-testid="table-{name}"' in page
        assert f"/statistics/dashboard/{name}.csv?year_from=2024" in page


def test_bad_filters_get_a_message_not_an_error(market, people, login, client):
    login(people.admin)
    for query, message in (
        ("year_from=2025&year_to=2024", "cannot be before"),
        ("year_from=1990", "Number must be between"),
        ("year_from=abc", "Not a valid integer"),
        ("year_from=2000&year_to=2025", "at most 10 years"),
        ("contract_type=loans", "Not a valid choice"),
    ):
        response = client.get(f"/statistics/dashboard?{query}")
        assert response.status_code == 400, query
        assert message in response.get_data(as_text=True), query
    response = client.get("/statistics/dashboard/nothing.csv")
    assert response.status_code == 404
