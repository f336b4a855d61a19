"""The statistics in a real browser: the manager of Qingdao opens the dashboard from the menu
and sees its charts drawn, with the numbers beside them; anyone opens the public statistics
and the API's documentation. Screenshots are saved for a person to look at."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from crowdsource.accounts import centers as center_services
from crowdsource.bids import offers
from crowdsource.db import transaction
from crowdsource.tasks import services as task_services
from tests.plugin import log_in

#: (year, month, contract type, price in fen) of the contracts signed in Laoshan
SIGNED = [
    (2024, 3, "development", 4_000_000),
    (2024, 6, "service", 2_500_000),
    (2024, 9, "development", 3_000_000),
    (2024, 11, "consulting", 1_800_000),
    (2025, 1, "development", 5_200_000),
    (2025, 2, "transfer", 9_000_000),
    (2025, 4, "service", 2_800_000),
    (2025, 5, "consulting", 2_100_000),
    (2025, 7, "development", 6_100_000),
    (2025, 8, "service", 3_300_000),
    (2025, 10, "transfer", 7_500_000),
    (2025, 11, "development", 4_400_000),
]


@pytest.fixture
def signed_market(app, db, make_user, make_org, make_task, make_bid, centers, monkeypatch):
    monkeypatch.setitem(app.config, "STATS_CACHE_SECONDS", 0)
    monkeypatch.setitem(app.config, "STATS_REFRESH_SECONDS", 0)
    # three enterprises and three solvers, so that the public statistics may show the years
    # (a cell needs three of each)
    parties = []
    for i, (person, email, name) in enumerate(
        [
            ("Li Wei", "li.wei@haian.example", "Haian Robotics"),
            ("Chen Jing", "chen.jing@haixin.example", "Qingdao Haixin Sensors"),
            ("Wu Hao", "wu.hao@beihai.example", "Qingdao Beihai Valves"),
        ]
    ):
        owner = make_user(email=email, name=person)
        enterprise = make_org(owner, name=name, center=centers["laoshan"])
        solver = make_user(email=f"solver{i}@example.com", name=f"Solver {i}")
        parties.append((owner, enterprise, solver))
    manager = make_user(email="wang@qingdao.example", name="Wang Haitao")
    with transaction():
        center_services.make_manager(manager, centers["qingdao"])
    for index, (year, month, kind, price) in enumerate(SIGNED):
        owner, enterprise, _ = parties[index % 3]
        solver = parties[(index + 1) % 3][2]
        task = make_task(owner, enterprise, contract_type=kind)
        bid = make_bid(solver, task, price_fen=price)
        with transaction():
            task_services.close_bidding(owner, task)
            contract = offers.sign_both(owner, bid)
            signed = dt.datetime(year, month, 12, 4, tzinfo=dt.UTC)
            contract.signed_at = signed
            task.published_at = signed - dt.timedelta(days=9)
    return manager


def test_the_manager_sees_the_dashboard_charts(live_server, signed_market, new_page, screenshot):
    page = new_page()
    page.set_viewport_size({"width": 1400, "height": 1000})
    log_in(page, live_server, signed_market.email)
    # The switch reloads the page: open the menu of the reloaded page, not of the one leaving.
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    page.get_by_role("button", name="Centers I manage").click()
    page.get_by_test_id("dashboard-link").click()
    page.get_by_label("From year").fill("2024")
    page.get_by_label("To year").fill("2025")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="Market dashboard")).to_be_visible()
    charts = page.get_by_test_id("chart")
    expect(charts).to_have_count(4)
    for index in range(4):
        expect(charts.nth(index)).to_be_visible()
    bars = page.get_by_test_id("chart-bar")
    expect(bars).to_have_count(7)  # 2024: 3 types, 2025: 4 types
    box = bars.first.bounding_box()
    assert box["height"] > 5 and box["width"] > 5
    assert page.get_by_test_id("chart-line").count() >= 4
    table = page.get_by_test_id("table-contracts-by-type")
    expect(table).to_be_visible()
    expect(table).to_contain_text("Technology transfer")
    expect(table).to_contain_text("¥165,000.00")  # the two transfer contracts of 2025
    expect(page.get_by_test_id("table-contracts-by-center")).to_contain_text("Laoshan District")
    screenshot(page, "dashboard")
    page.get_by_test_id("block-contracts-by-type").scroll_into_view_if_needed()
    screenshot(page, "dashboard-charts")
    # the charts are drawn: a picture of the page is far from blank
    assert len(page.screenshot()) > 20_000


def test_anyone_sees_the_public_statistics_and_the_api_docs(
    live_server, signed_market, page, screenshot
):
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(live_server)
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    page.get_by_test_id("statistics-link").click()
    expect(page.get_by_role("heading", name="Market statistics")).to_be_visible()
    expect(page.get_by_test_id("chart").first).to_be_visible()
    years = page.get_by_test_id("table-years")
    expect(years).to_contain_text("2025")
    expect(years).to_contain_text("¥404,000.00")  # the eight contracts of 2025
    screenshot(page, "public")
    page.get_by_test_id("api-docs-link").click()
    expect(page.get_by_test_id("operation").first).to_be_visible()
    expect(page.get_by_text("/api/v1/stats/contracts-by-type").first).to_be_visible()
    screenshot(page, "api-docs")
