"""Journeys of an account's security in a real browser: a forgotten password replaced through
the mailed link, a new user who confirms the address and then bids, a manager who signs in
with a code from an authenticator app."""

import datetime as dt
import re

import pyotp
from playwright.sync_api import expect

from crowdsource.accounts import two_factor
from crowdsource.db import transaction
from tests.plugin import log_in

NEW_PASSWORD = "a fresh and long passphrase"


def link_in(message, path):
    return re.search(rf"http://crowdsource\.test({path}/\S+)", message.body).group(1)


def test_a_forgotten_password_is_replaced_from_the_mail_and_the_user_is_signed_in(
    page, live_server, make_user, outbox, screenshot
):
    make_user(email="zhao@example.com", name="Zhao Lei")
    page.goto(f"{live_server}/login")
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("zhao@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_test_id("reset-sent")).to_contain_text("we have sent a link")
    (message,) = outbox
    page.goto(live_server + link_in(message, "/password/reset"))
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    screenshot(page, "reset-form")
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_text("Your new password is set.")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_text("Zhao Lei")

    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, "zhao@example.com", NEW_PASSWORD)
    expect(page.get_by_test_id("user-menu")).to_have_text("Zhao Lei")


def test_a_new_user_confirms_the_address_and_then_bids(
    page, live_server, make_user, make_org, make_task, outbox, clock, screenshot
):
    owner = make_user()
    task = make_task(owner, make_org(owner), title="Weld seam inspection")
    page.goto(f"{live_server}/register")
    page.get_by_role("button", name="English").click()
    page.get_by_label("Email").fill("wang.fang@example.com")
    page.get_by_label("Display name").fill("Wang Fang")
    page.get_by_label("Password", exact=True).fill("a sturdy passphrase")
    page.get_by_label("Repeat password").fill("a sturdy passphrase")
    page.get_by_label("Preferred language").select_option("en")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_test_id("verify-banner")).to_be_visible()
    page.goto(f"{live_server}/tasks/{task.id}")
    expect(page.get_by_test_id("verify-to-bid")).to_be_visible()
    expect(page.get_by_role("link", name="Place a bid")).to_have_count(0)

    (message,) = [m for m in outbox if "wang.fang@example.com" in m.to]
    page.goto(live_server + link_in(message, "/account/verify"))
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_text("your email address is confirmed")).to_be_visible()
    expect(page.get_by_test_id("verify-banner")).to_have_count(0)

    page.goto(f"{live_server}/tasks/{task.id}")
    page.get_by_role("link", name="Place a bid").click()
    page.get_by_label("Price (yuan)").fill("48000")
    page.get_by_label("Duration (days)").fill("45")
    page.get_by_label("Proposal", exact=True).fill("Line-scan camera and a trained model.")
    row = page.get_by_test_id("milestone-row").nth(0)
    row.get_by_label("Milestone").fill("The whole work")
    row.get_by_label("Amount (yuan)").fill("48000")
    row.get_by_label("Due date").fill((clock.now() + dt.timedelta(days=45)).date().isoformat())
    screenshot(page, "first-bid")
    page.get_by_role("button", name="Submit bid").click()
    expect(page.get_by_text("Your bid has been submitted.")).to_be_visible()


def test_a_manager_signs_in_with_a_code_from_the_authenticator_app(
    app, page, live_server, people, monkeypatch, clock, screenshot
):
    monkeypatch.setitem(app.config, "TWO_FACTOR_FOR_STAFF", True)
    manager = people.managers["qingdao"]
    with transaction():
        setup = two_factor.begin_setup(manager)
        totp = pyotp.TOTP(two_factor.secret_text(setup).replace(" ", ""))
        two_factor.confirm_setup(manager, totp.now())
    clock.advance(seconds=30)  # the code of the setup is spent

    page.goto(f"{live_server}/")
    page.get_by_role("button", name="English").click()
    log_in(page, live_server, manager.email)
    expect(page).to_have_url(re.compile(r"/login/two-factor"))
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("This code is not right")).to_be_visible()
    page.get_by_label("Code").fill(totp.now())
    screenshot(page, "two-factor")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()
    page.goto(f"{live_server}/manage/payments")
    expect(page.get_by_test_id("manage-payments")).to_be_visible()


def test_the_admin_suspends_a_user_who_is_signed_out_and_cannot_sign_in(
    page, new_page, live_server, people, screenshot
):
    solver = new_page()
    log_in(solver, live_server, people.solver.email)
    expect(solver.get_by_test_id("user-menu")).to_have_text("Zhao Lei")

    page.goto(f"{live_server}/")
    page.get_by_role("button", name="English").click()
    log_in(page, live_server, people.admin.email)
    page.get_by_test_id("user-menu").wait_for()
    page.goto(f"{live_server}/console/")
    page.get_by_label("Name, email or credit code").fill("Zhao")
    page.get_by_role("button", name="Search").click()
    page.get_by_test_id("users-found").get_by_role("link", name="Zhao Lei").click()
    page.get_by_label("Reason").fill("Sent the same bid to every task.")
    screenshot(page, "suspend")
    page.get_by_test_id("suspend").click()
    expect(page.get_by_text("The account is suspended")).to_be_visible()
    expect(page.get_by_test_id("account-status")).to_contain_text("Sent the same bid")

    solver.reload()
    expect(solver.get_by_role("link", name="Log in")).to_be_visible()  # signed out
    log_in(solver, live_server, people.solver.email)
    expect(solver.get_by_text("This account is suspended.")).to_be_visible()
    expect(solver.get_by_test_id("user-menu")).to_have_count(0)
