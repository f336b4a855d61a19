"""Search in a real browser: two words rank the list, the status hint widens it with one click,
and the search is saved for daily e-mails."""

from playwright.sync_api import expect

from crowdsource.db import transaction
from crowdsource.tasks import services as task_services
from tests.plugin import log_in


def test_search_two_words_widen_and_save(
    page, live_server, make_user, make_org, make_task, screenshot
):
    owner = make_user(email="li.wei@example.com")
    organization = make_org(owner)
    plain = dict(summary="A challenge.", description="Details.", fields=[], skills=[])
    make_task(owner, organization, title="Weld seam inspection", **plain)
    make_task(owner, organization, title="Machine vision for weld seam inspection", **plain)
    make_task(owner, organization, title="Kiln temperature control", **plain)
    cancelled = make_task(owner, organization, title="Vision sorting of tea leaves", **plain)
    with transaction():
        task_services.cancel_task(owner, cancelled, "Budget frozen.")
    make_user(email="zhao.lei@example.com")
    page.goto(f"{live_server}/")
    page.get_by_role("button", name="English").click()
    log_in(page, live_server, "zhao.lei@example.com")
    page.goto(f"{live_server}/tasks")
    page.get_by_label("Keywords").fill("vision inspection")
    page.get_by_role("button", name="Search", exact=True).click()
    titles = page.locator("h2.h5 a")
    expect(titles).to_have_text(["Machine vision for weld seam inspection", "Weld seam inspection"])
    expect(page.get_by_test_id("status-hint")).to_contain_text("Showing open tasks only")
    screenshot(page, "ranked")
    page.get_by_test_id("widen-status").click()
    expect(titles).to_have_text(
        [
            "Machine vision for weld seam inspection",
            "Vision sorting of tea leaves",
            "Weld seam inspection",
        ]
    )
    expect(page.get_by_test_id("status-hint")).to_have_count(0)
    page.get_by_role("button", name="Save this search and get new tasks by e-mail").click()
    expect(page.get_by_text("Search saved.")).to_be_visible()
    saved = page.get_by_test_id("saved-search")
    expect(saved).to_have_count(1)
    expect(saved).to_contain_text("“vision inspection”")
    expect(saved).to_contain_text("Status: All")
    screenshot(page, "saved-searches")
    saved.get_by_role("link").click()
    expect(titles).to_have_count(3)
