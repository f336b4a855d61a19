"""Languages: preference, Accept-Language, the switcher; times in the user's zone; complete
catalogs."""

import datetime as dt
import pathlib

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from crowdsource.db import transaction

ROOT = pathlib.Path(__file__).resolve().parents[1]
CATALOGS = ROOT / "crowdsource" / "translations"


def test_accept_language_chooses_the_language(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9,en;q=0.5"
    assert "登录" in client.get("/").get_data(as_text=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9"
    assert "Log in" in client.get("/").get_data(as_text=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh"
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_without_accept_language_the_default_is_chinese(client):
    del client.environ_base["HTTP_ACCEPT_LANGUAGE"]
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_switcher_sets_the_language_for_anonymous_visitors(client):
    response = client.post("/language", data={"lang": "zh_CN", "next": "/centers"})
    assert response.headers["Location"] == "/centers"
    page = client.get("/centers").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert 'aria-pressed="true">中文</button>' in page  # the switcher shows the language in use
    client.post("/language", data={"lang": "en", "next": "https://evil.example.com"})
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_users_preference_wins_and_the_switcher_changes_it(client, db, make_user, login):
    user = make_user(locale="zh_CN")
    login(user)
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)  # despite "en" header
    client.post("/language", data={"lang": "en"})
    db.session.refresh(user)
    assert str(user.locale) == "en"
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_times_are_shown_in_the_users_time_zone(client, db, make_user, login, make_org):
    user = make_user(locale="en")
    organization = make_org(user)
    with transaction():
        organization.created_at = dt.datetime(2026, 3, 1, 20, 30, tzinfo=dt.UTC)
    login(user)
    # 20:30 UTC on 1 March is already 2 March in Shanghai (UTC+8).
    assert "March 2, 2026" in client.get(f"/orgs/{organization.id}").get_data(as_text=True)
    with transaction():
        user.timezone = "America/New_York"
    assert "March 1, 2026" in client.get(f"/orgs/{organization.id}").get_data(as_text=True)


def extracted_messages(tmp_path):
    pot = tmp_path / "messages.pot"
    arguments = ["-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-o", str(pot)]
    CommandLineInterface().run(["pybabel", *arguments, str(ROOT)])
    with pot.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


# zh_Hans_CN is Babel's canonical name of zh_CN (Locale.parse("zh_CN") adds the script).
@pytest.mark.parametrize("language", ["zh_Hans_CN", "en"])
def test_catalog_translates_every_string_of_the_code(tmp_path, language):
    with (CATALOGS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        message.id
        for message in catalog
        if message.id
        and not message.fuzzy
        and all(message.string if isinstance(message.string, tuple) else [message.string])
    }
    missing = sorted(str(m) for m in extracted_messages(tmp_path) - translated)
    assert missing == [], f"{language} lacks translations for {missing[:10]}"


def test_chinese_catalog_really_is_chinese():
    with (CATALOGS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    han = [m for m in catalog if m.id and any("\u4e00" <= ch <= "\u9fff" for ch in str(m.string))]
    assert len(han) > 0.9 * len([m for m in catalog if m.id])
