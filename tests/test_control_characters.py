"""Control characters are refused once, for the whole app (crowdsource.web): every route of
the app, with every text input of its forms, a control character in each path segment, query
parameter and upload's file name gets a 400 that says where, before any view sees it; nothing
is stored, no file is written. Tabs and line breaks stay text where people type them."""

import datetime as dt
import html
import inspect
import io
import json
import re
import sys
import urllib.parse
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from werkzeug.routing.converters import AnyConverter

from crowdsource import create_app
from crowdsource.accounts.models import Membership
from crowdsource.bids import offers
from crowdsource.db import db, transaction, utcnow
from crowdsource.disputes import services as disputes
from crowdsource.notifications.models import Notification
from crowdsource.tasks import questions
from crowdsource.tasks import services as task_services
from crowdsource.tasks.models import Question
from tests.helpers import PDF, table_counts
from tests.payments.support import deliver, fund
from tests.plugin import (
    add_centers,
    app_config,
    bid_builder,
    build_people,
    org_builder,
    task_builder,
    user_builder,
)

#: NUL, which PostgreSQL refuses in text, and another control character, which it stores
CHARACTERS = ["\x00", "\x01"]
#: form fields that are no text a person types
NOT_TEXT = {"CSRFTokenField", "FileField", "MultipleFileField", "SubmitField"}
#: who is signed in for an endpoint: one who may use it (the enterprise's owner by default)
ACTORS = {
    "accounts.login": None,
    "accounts.register": None,
    "accounts.center": "admin",
    "accounts.remove_manager": "admin",
    "payments.failed_jobs": "admin",
    "payments.retry_job": "admin",
    "payments.retry_stripe": "admin",
    "payments.revenue": "admin",
    "payments.policies": "admin",
    "payments.remove_policy": "admin",
    "stats.dashboard": "admin",
    "stats.dashboard_csv": "admin",
    "payments.manage": "manager",
    "payments.confirm_transfer": "manager",
    "payments.reject_report": "manager",
    "payments.send_payout": "manager",
    "payments.cancel_payout": "manager",
    "disputes.queue": "manager",
    "disputes.take": "manager",
    "disputes.ask": "manager",
    "disputes.rule": "manager",
    "disputes.rule_on_appeal": "manager",
    "bids.place": "solver",
    "bids.edit": "solver",
    "bids.act": "solver",
    "bids.mine": "solver",
    "contracts.deliver": "solver",
    "disputes.respond": "solver",
    "payments.request_payout": "solver",
    "payments.earnings": "solver",
    "payments.earnings_csv": "solver",
}


def _forms_of(view):
    """The FlaskForm classes a view function uses: named in its source or in the source of
    the functions of its module that build a form for it (``_task_form()``)."""
    module = vars(sys.modules[view.__module__])
    found = set()

    def visit(function):
        for name in set(re.findall(r"\b[A-Za-z_]\w*\b", inspect.getsource(function))):
            value = module.get(name)
            if inspect.isclass(value) and issubclass(value, FlaskForm):
                found.add(value)
            elif inspect.isfunction(value) and name.endswith("_form") and value is not function:
                visit(value)

    visit(inspect.unwrap(view))
    return found


def _fields_of(form_class):
    """(name, type) of every field of a form as a browser sends it (milestones-0-title, …)."""
    parameters = inspect.signature(form_class.__init__).parameters.values()
    required = [p for p in parameters if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
    form = form_class(*[None] * (len(required) - 1), meta={"csrf": False})

    def walk(fields):
        for field in fields:
            if field.type == "FieldList":
                yield from walk(field.entries)
            elif field.type == "FormField":
                yield from walk(field)
            else:
                yield field.name, field.type

    return list(walk(form))


def _routes():
    """(endpoint, method, rule, text fields, file fields) of every route of the app."""
    app = create_app(app_config("sqlite://"))
    found = []
    with app.test_request_context(method="POST"):
        for rule in app.url_map.iter_rules():
            view = app.view_functions[rule.endpoint]
            for method in sorted(rule.methods & {"GET", "POST"}):
                fields = []
                if method == "POST":
                    fields = [f for form in _forms_of(view) for f in _fields_of(form)]
                texts = sorted({name for name, kind in fields if kind not in NOT_TEXT})
                files = sorted({name for name, kind in fields if "File" in kind})
                found.append((rule.endpoint, method, rule, texts, files))
    return sorted(found, key=lambda route: (route[0], route[1]))


ROUTES = _routes()


@pytest.fixture(scope="module")
def world_rows(shared_rows):
    """People, an open task with a question, and an awarded contract whose first milestone is
    funded, delivered and disputed: built once for the module (tests.plugin.SharedRows)."""

    def build():
        centers = add_centers()
        people = build_people(user_builder(), org_builder(centers), centers)
        make_task, make_bid = task_builder(), bid_builder()
        task = make_task(people.owner, people.enterprise)
        with transaction():
            question = questions.ask(people.solver, task, "Which camera do you use?")
        awarded = make_task(people.owner, people.enterprise, title="Cooling of a kiln")
        due = (utcnow() + dt.timedelta(days=30)).date()
        bid = make_bid(
            people.solver, awarded, 1_000_000, [("One", 500_000, due), ("Two", 500_000, due)]
        )
        with transaction():
            task_services.close_bidding(people.owner, awarded)
            contract = offers.sign_both(people.owner, bid)
        first = contract.milestones[0]
        funding = fund(first, people.owner, people.managers["qingdao"])
        deliver(people.solver, first)
        with transaction():
            dispute = disputes.open_dispute(people.owner, first.id, "Not what we ordered.")
        world = SimpleNamespace(
            task=task,
            question=question,
            bid=bid,
            contract=contract,
            milestone=first,
            funding=funding,
            dispute=dispute,
        )
        return {"centers": centers, "people": people, "world": world}

    return shared_rows.build(build)


@pytest.fixture
def world(world_rows, db):
    people = world_rows.rows("people")
    return SimpleNamespace(**vars(world_rows.rows("world")), people=people)


def _values(world):
    """A value for each argument a route takes, naming a row of the world where there is one."""
    people = world.people
    membership = db.session.scalars(sa.select(Membership).filter_by(user_id=people.owner.id))
    notification = db.session.scalars(sa.select(Notification).filter_by(user_id=people.owner.id))
    return {
        "task_id": world.task.id,
        "question_id": world.question.id,
        "bid_id": world.bid.id,
        "contract_id": world.contract.id,
        "milestone_id": world.milestone.id,
        "funding_id": world.funding.id,
        "dispute_id": world.dispute.id,
        "org_id": people.enterprise.id,
        "owner_id": people.owner.id,
        "user_id": people.solver.id,
        "center_id": people.centers["qingdao"].id,
        "membership_id": membership.first().id,
        "notification_id": notification.first().id,
        "code": "qingdao",
        "name": "contracts-by-type",
        "filename": "app.js",
        "job_id": "a-job",
    }


PLACEHOLDER = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")


def url_of(rule, values, bad=None):
    """The address of ``rule`` with ``values``; with ``bad=(argument, text)`` that argument is
    ``text`` instead (percent-encoded, as a browser sends it)."""

    def argument(match):
        name = match.group(1)
        if bad and bad[0] == name:
            return urllib.parse.quote(bad[1], safe="")
        converter = rule._converters[name]
        if isinstance(converter, AnyConverter):
            return sorted(converter.items)[0]
        return str(values.get(name, 1))

    return PLACEHOLDER.sub(argument, rule.rule)


def message(response):
    """The message of an error page or of the API's JSON."""
    if response.is_json:
        return response.get_json()["error"]
    found = re.search(r'<p class="lead">([^<]*)</p>', response.get_data(as_text=True))
    return html.unescape(found.group(1)) if found else ""


def in_address(code):
    return f"The address contains a control character (code {code}), which is not accepted."


def in_field(name, code):
    return (
        f"The field {name} contains a control character (code {code}), which is not accepted. "
        "Remove it and send the form again."
    )


def in_file_name(name, code):
    return (
        f"The name of the file {name} contains a control character (code {code}), which is not "
        "accepted. Rename the file and try again."
    )


def in_parameter(name, code):
    return (
        f"The address contains a control character (code {code}) in its parameter {name}, "
        "which is not accepted."
    )


def refused(response, expected):
    """True when ``response`` is the 400 of the control-character check with ``expected``."""
    return response.status_code == 400 and expected in message(response)


def sign_in(client, login, world, endpoint):
    role = ACTORS.get(endpoint, "owner")
    if role is None:
        return
    people = world.people
    user = people.managers["qingdao"] if role == "manager" else getattr(people, role)
    login(user)


@pytest.mark.parametrize(
    "endpoint, method, rule, texts, files",
    ROUTES,
    ids=[f"{method} {endpoint}" for endpoint, method, *_ in ROUTES],
)
def test_every_input_of_every_route_refuses_control_characters(
    client, login, world, uploads, endpoint, method, rule, texts, files
):
    sign_in(client, login, world, endpoint)
    values = _values(world)
    send = client.get if method == "GET" else client.post
    before = table_counts()
    wrong = []
    for character in CHARACTERS:
        code = ord(character)
        # every path segment; a route without any gets one added (which names no page)
        for name in PLACEHOLDER.findall(rule.rule) or [None]:
            if name is None:
                url = url_of(rule, values).rstrip("/") + "/" + urllib.parse.quote(f"x{character}")
            else:
                url = url_of(rule, values, bad=(name, f"1{character}"))
            if not refused(send(url), in_address(code)):
                wrong.append(url)
        url = url_of(rule, values)
        # the query: a parameter's value and its name
        for query, expected in [
            ({"q": f"a{character}b"}, in_parameter("q", code)),
            ({f"q{character}": "1"}, in_address(code)),
        ]:
            response = send(url + "?" + urllib.parse.urlencode(query))
            if not refused(response, expected):
                wrong.append(f"{url} {query!r}")
        if method == "POST":
            for field in texts or ["comment"]:
                response = client.post(url, data={field: f"Typed{character}text"})
                if not refused(response, in_field(field, code)):
                    wrong.append(f"{url} {field}")
            for field in files:
                name = f"a{character}b.pdf"
                response = client.post(url, data={field: (io.BytesIO(PDF), name)})
                if not refused(response, in_file_name("a\ufffdb.pdf", code)):
                    wrong.append(f"{url} file {field}")
    assert wrong == []
    assert table_counts() == before
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_the_walk_covers_the_routes_with_forms_and_uploads():
    """The forms found for the routes are the forms they use (the walk's own check)."""
    by_endpoint = {
        (endpoint, method): (texts, files) for endpoint, method, _, texts, files in ROUTES
    }
    assert by_endpoint[("accounts.register", "POST")][0] == [
        "confirm",
        "display_name",
        "email",
        "locale",
        "password",
    ]
    assert "milestones-2-amount" in by_endpoint[("bids.place", "POST")][0]
    assert "description" in by_endpoint[("tasks.new_task", "POST")][0]
    assert by_endpoint[("tasks.upload", "POST")][1] == ["file"]
    with_files = {key[0] for key, (_, files) in by_endpoint.items() if files}
    assert with_files == {
        "bids.post_message",
        "contracts.deliver",
        "contracts.post_message",
        "disputes.open_dispute",
        "disputes.post",
        "disputes.respond",
        "tasks.upload",
        "accounts.organization_verification",
        "profiles.add_item",
        "profiles.edit_item",
        "profiles.add_certification",
        "payments.report_transfer",
    }
    assert len(ROUTES) > 100


def test_a_json_body_with_a_control_character_is_refused(client, db):
    body = json.dumps({"type": "checkout.session.completed", "data": {"id": "evt\u0001"}})
    response = client.post(
        "/payments/stripe/webhook", data=body, content_type="application/json", csrf=False
    )
    assert response.status_code == 400
    assert message(response) == (
        "The request contains a control character (code 1), which is not accepted."
    )


# --- what stays text: tabs and line breaks where people type them ---------------------------


@pytest.fixture
def asker(client, login, make_user, make_org, make_task):
    owner = make_user()
    task = make_task(owner, make_org(owner))
    login(make_user(name="Zhao Lei"))
    return task


@pytest.mark.parametrize("body", ["Two lines:\r\nthe second.", "A\ttab.", "Unix\nline break."])
def test_tabs_and_line_breaks_typed_in_a_textarea_are_text(client, db, asker, body):
    response = client.post(f"/tasks/{asker.id}/questions", data={"body": body})
    assert response.status_code == 302
    stored = db.session.scalar(sa.select(Question.body).filter_by(task_id=asker.id))
    assert stored.replace("\r\n", "\n") == body.replace("\r\n", "\n")


@pytest.mark.parametrize(
    "body, code", [("A lone\rreturn.", 13), ("Form\x0cfeed.", 12), ("Escape\x1b[31m.", 27)]
)
def test_other_control_characters_in_a_textarea_are_refused(client, db, asker, body, code):
    before = table_counts()
    response = client.post(f"/tasks/{asker.id}/questions", data={"body": body})
    assert refused(response, in_field("body", code))
    assert table_counts() == before


def test_a_tab_in_a_search_is_text_and_a_line_break_is_not(client, db):
    assert client.get("/tasks?q=machine%09vision").status_code == 200
    assert refused(client.get("/tasks?q=machine%0Avision"), in_parameter("q", 10))
    assert refused(client.get("/tasks?q=machine%7Fvision"), in_parameter("q", 127))


@pytest.mark.parametrize("segment", ["%09", "%0A", "%0D", "%7F", "%1B"])
def test_no_control_character_is_part_of_an_address(client, db, segment):
    response = client.get(f"/tasks/{segment}")
    assert refused(response, in_address(int(urllib.parse.unquote(segment).encode()[0])))
