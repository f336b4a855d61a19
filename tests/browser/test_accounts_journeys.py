"""Journeys in a real browser: register, log in and out, switch language, register an
organization, invite a member who accepts."""

import re

from playwright.sync_api import expect

from tests.plugin import log_in


def test_register_switch_language_log_out_and_in(page, live_server, db, screenshot):
    page.goto(live_server, wait_until="load")
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="Register").first.click()
    page.get_by_label("Email").fill("li.wei@example.com")
    page.get_by_label("Display name").fill("Li Wei")
    page.get_by_label("Password", exact=True).fill("a sturdy passphrase")
    page.get_by_label("Repeat password").fill("a sturdy passphrase")
    page.get_by_label("Preferred language").select_option("en")
    screenshot(page, "register-form")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("Welcome to Crowdsource, Li Wei!")).to_be_visible()
    expect(page.get_by_test_id("next-steps")).to_contain_text("not in any organization yet")
    screenshot(page, "home-en")

    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("next-steps")).to_contain_text("欢迎回来")
    screenshot(page, "home-zh")

    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("link", name="登录")).to_be_visible()

    log_in(page, live_server, "li.wei@example.com", "a sturdy passphrase")
    expect(page.get_by_test_id("user-menu")).to_have_text("Li Wei")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")  # the preference stuck


def test_wrong_password_shows_the_message_in_the_page(page, live_server, make_user, screenshot):
    make_user(email="solver@example.com")
    page.goto(f"{live_server}/")
    page.get_by_role("button", name="English").click()
    log_in(page, live_server, "solver@example.com", "not the password")
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()
    screenshot(page, "login-error")


def test_register_an_organization_invite_and_accept(
    browser, page, live_server, make_user, centers, screenshot
):
    make_user(email="owner@example.com", name="Li Wei", locale="en")
    make_user(email="zhang.min@example.com", name="Zhang Min", locale="zh_CN")

    log_in(page, live_server, "owner@example.com")
    page.goto(f"{live_server}/orgs/new")
    page.get_by_label("Name").fill("Haian Robotics Co., Ltd.")
    page.get_by_label("Kind").select_option("enterprise")
    page.get_by_label("Unified social credit code").fill("91370200MA3C9F2X39")
    page.get_by_label("Home innovation center").select_option(label="\u3000Qingdao")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The check character does not match")).to_be_visible()
    screenshot(page, "credit-code-error")
    page.get_by_label("Unified social credit code").fill("91370200MA3C9F2X38")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Haian Robotics Co., Ltd.")).to_be_visible()

    page.get_by_role("link", name="Members").click()
    page.get_by_label("Email of a registered user").fill("zhang.min@example.com")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_text("Zhang Min has been invited.")).to_be_visible()
    screenshot(page, "invited")

    invitee = browser.new_context().new_page()
    log_in(invitee, live_server, "zhang.min@example.com")
    expect(invitee.get_by_test_id("invitation-count")).to_have_text("1")
    invitee.get_by_role("link", name=re.compile("邀请")).first.click()
    expect(invitee.get_by_test_id("invitation")).to_contain_text("Haian Robotics Co., Ltd.")
    screenshot(invitee, "invitation-zh")
    invitee.get_by_role("button", name="接受").click()
    expect(invitee.get_by_role("heading", name="Haian Robotics Co., Ltd.")).to_be_visible()

    page.reload()
    expect(page.get_by_test_id("member-row")).to_have_count(2)
    expect(page.get_by_test_id("member-row").nth(1)).to_contain_text("Zhang Min")
    expect(page.get_by_test_id("member-row").nth(1)).to_contain_text("Member")
    screenshot(page, "members")
