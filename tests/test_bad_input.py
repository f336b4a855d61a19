"""Input that scanners send: an unknown choice, a number too large for its column, a NUL
character, a newline in a redirect target. Each gets a 4xx (a list page keeps the user's other
filters and says which value is not valid), never an error of ours, on SQLite and PostgreSQL."""

import html
import json
import re
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from crowdsource.accounts.models import User
from tests.helpers import PASSWORD, form_errors, table_counts
from tests.tasks.helpers import LISTED

NOT_AN_OPTION = "This is not one of the options. Choose one from the list."
IN_THE_ADDRESS = "The address contains a control character (code 0), which is not accepted."
IN_A_PARAMETER = (
    "The address contains a control character (code 0) in its parameter {}, which is not accepted."
)
IN_A_FIELD = (
    "The field {} contains a control character (code 0), which is not accepted. "
    "Remove it and send the form again."
)
IN_THE_REQUEST = "The request contains a control character (code 0), which is not accepted."


@pytest.fixture
def two_tasks(make_user, make_org, make_task):
    """A development task needing machine vision and a consulting one needing CFD."""
    owner = make_user()
    organization = make_org(owner)
    vision = make_task(owner, organization, title="Solder joint inspection")
    cfd = make_task(
        owner,
        organization,
        title="Cooling of a kiln",
        contract_type="consulting",
        skills=["CFD"],
        fields=[],
    )
    return SimpleNamespace(vision=vision, cfd=cfd)


def listed(response):
    return [int(task_id) for task_id in LISTED.findall(response.get_data(as_text=True))]


def input_value(response, name):
    """The value a text input of the page shows."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page(response))
    return html.unescape(found.group(1)) if found else None


def page(response):
    return response.get_data(as_text=True)


# --- list filters: refused at their field, the rest of the search kept --------------------


def test_an_unknown_contract_type_is_refused_at_its_field_and_the_keywords_kept(client, two_tasks):
    cfd = two_tasks.cfd
    response = client.get("/tasks?contract_type=xyz&q=kiln")
    assert response.status_code == 400
    assert form_errors(response) == {"contract_type": [NOT_AN_OPTION]}
    assert input_value(response, "q") == "kiln"
    assert listed(response) == [cfd.id]  # the valid filter still applies


def test_the_filter_message_is_in_the_readers_language(client, two_tasks):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    response = client.get("/tasks?contract_type=xyz")
    assert response.status_code == 400
    assert form_errors(response) == {"contract_type": ["该值不在可选项中，请从列表中选择。"]}


@pytest.mark.parametrize("center_id", ["9999999999", "99999999999999999999999", "-1", "abc"])
def test_a_center_id_out_of_range_is_refused_at_its_field(client, two_tasks, center_id):
    cfd = two_tasks.cfd
    response = client.get(f"/tasks?center_id={center_id}&skill=CFD")
    assert response.status_code == 400
    assert form_errors(response) == {"center_id": [NOT_AN_OPTION]}
    assert input_value(response, "skill") == "CFD"
    assert listed(response) == [cfd.id]


def test_a_known_center_and_type_still_filter(client, two_tasks, centers):
    cfd = two_tasks.cfd
    response = client.get(f"/tasks?center_id={centers['qingdao'].id}&contract_type=consulting")
    assert response.status_code == 200
    assert listed(response) == [cfd.id]


@pytest.mark.parametrize("number", ["99999999999999999999999", "100001", "0", "-1", "abc", "1.5"])
def test_a_page_number_out_of_range_shows_the_first_page_with_a_notice(
    client, login, make_user, two_tasks, number
):
    notice = (
        f"There is no page “{number}” (pages are numbered 1 to 100000): the first page is shown."
    )
    response = client.get(f"/tasks?skill=CFD&page={number}")
    assert response.status_code == 400
    assert html.escape(notice, quote=False) in page(response)
    assert listed(response) == [two_tasks.cfd.id]  # the first page, the filter kept
    assert notice not in page(client.get("/tasks"))  # said once, not kept for the next page
    login(make_user())
    for url in ("/tasks/mine", "/notifications"):
        response = client.get(f"{url}?page={number}")
        assert response.status_code == 400, url
        assert html.escape(notice, quote=False) in page(response), url


def test_empty_filters_are_their_defaults(client, two_tasks):
    response = client.get("/tasks?q=&status=&sort=&page=&contract_type=&center_id=")
    assert response.status_code == 200
    assert sorted(listed(response)) == sorted([two_tasks.vision.id, two_tasks.cfd.id])


def test_a_page_past_the_last_is_an_empty_page(client, two_tasks):
    response = client.get("/tasks?page=100000")
    assert response.status_code == 200
    assert listed(response) == []


@pytest.mark.parametrize("name, value", [("status", "bogus"), ("sort", "cheapest")])
def test_an_unknown_status_or_sort_is_refused_at_its_field_and_the_default_applies(
    client, two_tasks, name, value
):
    response = client.get(f"/tasks?{name}={value}&contract_type=consulting")
    assert response.status_code == 400
    assert form_errors(response) == {name: [NOT_AN_OPTION]}
    assert listed(response) == [two_tasks.cfd.id]  # open tasks, newest first


# --- NUL characters: a 400 wherever they come, saying where -------------------------------
# (every route and input: tests/test_control_characters.py)


@pytest.mark.parametrize(
    "url, message",
    [
        ("/tasks?skill=machine%00vision", IN_A_PARAMETER.format("skill")),
        ("/tasks?q=solder%00", IN_A_PARAMETER.format("q")),
        ("/tasks?sk%00ill=x", IN_THE_ADDRESS),
        ("/centers?x=%00", IN_A_PARAMETER.format("x")),
        ("/api/v1/centers/qing%00dao", IN_THE_ADDRESS),
    ],
)
def test_a_nul_in_the_address_is_refused(client, two_tasks, url, message):
    response = client.get(url)
    assert response.status_code == 400
    if url.startswith("/api/"):
        assert response.get_json() == {"error": message}
    else:
        assert message in page(response)


@pytest.mark.parametrize("name", ["q", "skill", "center"])
def test_the_api_names_the_parameter_with_a_nul(client, two_tasks, name):
    response = client.get(f"/api/v1/tasks?{name}=machine%00vision")
    assert response.status_code == 400
    assert response.get_json() == {"error": IN_A_PARAMETER.format(name)}


def test_a_nul_in_the_registration_email_is_refused_and_nothing_stored(client, db):
    before = table_counts()
    response = client.post(
        "/register",
        data={
            "email": "wang\x00@example.com",
            "display_name": "Wang",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "locale": "en",
        },
    )
    assert response.status_code == 400
    assert IN_A_FIELD.format("email") in page(response)
    assert table_counts() == before
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_a_nul_in_a_login_or_json_body_is_refused(client, db, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email + "\x00", "password": PASSWORD})
    assert response.status_code == 400
    assert IN_A_FIELD.format("email") in page(response)
    response = client.post(
        "/payments/stripe/webhook",
        data=json.dumps({"type": "checkout.session.completed", "id": "evt_\u0000"}),
        content_type="application/json",
        csrf=False,
    )
    assert response.status_code == 400
    assert IN_THE_REQUEST in page(response)


# --- ids too large for their column: nothing there --------------------------------------


@pytest.mark.parametrize(
    "url", ["/tasks/9999999999", "/users/99999999999999999999999", "/api/v1/tasks/9999999999"]
)
def test_an_id_too_large_for_its_column_is_not_found(client, db, url):
    assert client.get(url).status_code == 404


# --- redirect targets with control characters -------------------------------------------


@pytest.mark.parametrize(
    "target", ["/tasks\n/evil", "/tasks\r\nSet-Cookie: stolen=1", "/\t/evil.example.com"]
)
def test_the_language_switcher_refuses_a_target_with_control_characters(client, target):
    response = client.post("/language", data={"lang": "zh_CN", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Set-Cookie" not in response.headers or "stolen" not in response.headers["Set-Cookie"]
    assert '<html lang="zh-CN">' in page(client.get("/"))  # the language did change


@pytest.mark.parametrize("target", ["/tasks\x01", "/tasks\x7f", "/tasks\revil"])
def test_a_target_with_other_control_characters_is_refused_and_nothing_changes(client, target):
    response = client.post("/language", data={"lang": "zh_CN", "next": target})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert '<html lang="en">' in page(client.get("/"))


def test_a_next_with_a_newline_in_the_address_is_refused_before_login(client, db, make_user):
    user = make_user()
    response = client.post(
        "/login?next=/tasks%0d%0aSet-Cookie:%20stolen=1",
        data={"email": user.email, "password": PASSWORD},
    )
    assert response.status_code == 400  # a line break in a query parameter: nobody typed it
    assert "Location" not in response.headers
    assert "stolen" not in response.headers.get("Set-Cookie", "")


def test_login_refuses_a_next_with_a_newline(client, db, make_user):
    user = make_user()
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "next": "/tasks\r\nSet-Cookie: a=1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
