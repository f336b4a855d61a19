"""Every query parameter of every page, given a value it cannot use (an unknown choice, an
integer out of range, text too long, an amount grouped wrongly), is a 4xx that says so, never
an error of ours, on SQLite and PostgreSQL (which refuses integers out of range). The pages
and their parameters are listed below; a test reads the sources and fails on a parameter a
view reads that the list does not name, so a new one cannot slip in untested."""

import datetime as dt
import html
import importlib
import inspect
import pathlib
import pkgutil
import re
import urllib.parse
from types import SimpleNamespace

import pytest
from flask_wtf import FlaskForm
from wtforms.fields.core import UnboundField

import crowdsource
from crowdsource.bids import offers
from crowdsource.db import transaction, utcnow
from crowdsource.stats import openapi
from crowdsource.stats import params as p
from crowdsource.tasks import services as task_services
from tests.helpers import PASSWORD, form_errors
from tests.payments.support import fund
from tests.plugin import (
    add_centers,
    bid_builder,
    build_people,
    org_builder,
    task_builder,
    user_builder,
)

SOURCES = pathlib.Path(__file__).resolve().parents[1] / "crowdsource"

#: integers no page can use: too large for the database, negative, larger than 64 bits
INTEGERS = ["9999999999", "-1", "99999999999999999999999"]
UNKNOWN = ["xyz", "9999999999"]
AMOUNTS = ["1,0,0", "1_000", "99999999999999", "-1", "abc"]

#: the pages (endpoint: address, who reads it, {parameter: values it cannot use}); {…} in the
#: address names a row of the module's world. Each value gets a 4xx with a message at the
#: filter or a notice on the page (or, for a download, an error page that says why).
PAGES = {
    "tasks.task_list": (
        "/tasks",
        None,
        {
            "q": ["x" * 101],
            "contract_type": UNKNOWN,
            "center_id": INTEGERS + UNKNOWN,
            "budget_min": AMOUNTS,
            "budget_max": AMOUNTS,
            "skill": ["x" * 41],
            "status": UNKNOWN,
            "sort": UNKNOWN,
            "page": [*INTEGERS, "0", "xyz"],
        },
    ),
    "tasks.my_tasks": ("/tasks/mine", "owner", {"page": [*INTEGERS, "0", "xyz"]}),
    "notifications.index": ("/notifications", "owner", {"page": [*INTEGERS, "0", "xyz"]}),
    "stats.dashboard": (
        "/statistics/dashboard",
        "admin",
        {
            "year_from": [*INTEGERS, "xyz"],
            "year_to": [*INTEGERS, "xyz"],
            "center_id": INTEGERS + UNKNOWN,
            "contract_type": UNKNOWN,
        },
    ),
    "stats.dashboard_csv": (
        "/statistics/dashboard/contracts-by-year.csv",
        "admin",
        {
            "year_from": [*INTEGERS, "xyz"],
            "year_to": [*INTEGERS, "xyz"],
            "center_id": INTEGERS + UNKNOWN,
            "contract_type": UNKNOWN,
        },
    ),
    "payments.revenue": ("/manage/revenue", "admin", {"format": UNKNOWN}),
    "payments.show_funding": ("/fundings/{funding}", "owner", {"card": UNKNOWN}),
    "contracts.contract_document": (
        "/contracts/{contract}/document.pdf",
        "owner",
        {"lang": UNKNOWN},
    ),
    "accounts.new_organization": ("/orgs/new", "owner", {"kind": UNKNOWN}),
    "bids.compare": (
        "/tasks/{task}/bids",
        "owner",
        {"sort": UNKNOWN, "order": UNKNOWN, "compare": [*INTEGERS, "xyz"]},
    ),
    "console.index": ("/console/", "admin", {"q": ["x" * 201]}),
    **{
        endpoint: (
            address,
            "admin",
            {
                "actor": ["x" * 201],
                "subject": UNKNOWN,
                "action": UNKNOWN,
                "since": ["xyz", "2025-13-01"],
                "until": ["xyz", "2025-02-30"],
                **({"page": [*INTEGERS, "0", "xyz"]} if endpoint.endswith("trail") else {}),
            },
        )
        for endpoint, address in (
            ("console.audit_trail", "/console/audit"),
            ("console.audit_csv", "/console/audit.csv"),
        )
    },
}

#: redirect targets (web.redirect_next): a target that is not a path of this site is not
#: followed; the default page is (tested below, not by a 4xx)
REDIRECT_TARGETS = {"accounts.login": "next", "home.set_language": "next"}
NOT_LOCAL = ["//evil.example", "https://evil.example/x", "/\\evil.example", "javascript:x", "9"]


def _bad_values(param):
    """Values an API parameter cannot use, by its declaration."""
    schema = param.schema
    if schema.get("type") == "integer":
        return [*INTEGERS, str(schema["maximum"] + 1), "xyz"]
    if "enum" in schema:
        return UNKNOWN
    if "maxLength" in schema:
        return ["x" * (schema["maxLength"] + 1), ""]
    return ["xyz", "2025-13"]  # a month


#: the open-data API: its parameters are its declarations (crowdsource.stats.openapi)
API = {
    "/api/v1/centers": openapi.CENTER_PARAMS,
    "/api/v1/tasks": openapi.TASK_PARAMS,
    **{
        f"/api/v1/stats/{name}": [*d, p.PAGE, p.PER_PAGE]
        for name, d in openapi.STATS_PARAMS.items()
    },
}

CASES = [
    (endpoint, address, reader, name, values)
    for endpoint, (address, reader, parameters) in PAGES.items()
    for name, values in parameters.items()
] + [
    (address, address, None, param.name, _bad_values(param))
    for address, declared in API.items()
    for param in declared
]


@pytest.fixture(scope="module")
def world_rows(shared_rows):
    """People and a contract whose first milestone is funded (tests.plugin.SharedRows)."""

    def build():
        centers = add_centers()
        people = build_people(user_builder(), org_builder(centers), centers)
        task = task_builder()(people.owner, people.enterprise)
        due = (utcnow() + dt.timedelta(days=30)).date()
        bid = bid_builder()(people.solver, task, 1_000_000, [("All", 1_000_000, due)])
        with transaction():
            task_services.close_bidding(people.owner, task)
            contract = offers.sign_both(people.owner, bid)
        funding = fund(contract.milestones[0], people.owner, people.managers["qingdao"])
        world = SimpleNamespace(contract=contract, funding=funding, task=task)
        return {"people": people, "world": world}

    return shared_rows.build(build)


@pytest.fixture
def world(world_rows, db):
    return SimpleNamespace(**vars(world_rows.rows("world")), people=world_rows.rows("people"))


def told(response):
    """What a response tells its reader about the request: the messages at the fields, the
    notices, an error page's explanation, the API's error."""
    if response.is_json:
        return [response.get_json()["error"]]
    page = response.get_data(as_text=True)
    notices = re.findall(r'<div class="alert alert-warning[^>]*>\s*([^<]*?)\s*<button', page)
    lead = re.findall(r'<p class="lead">([^<]*)</p>', page)
    fields = [m for messages in form_errors(response).values() for m in messages]
    return [html.unescape(text) for text in [*fields, *notices, *lead] if text]


@pytest.mark.parametrize(
    "endpoint, address, reader, name, values", CASES, ids=[f"{c[0]} {c[3]}" for c in CASES]
)
def test_a_value_a_page_cannot_use_is_a_4xx_that_says_so(
    client, login, world, endpoint, address, reader, name, values
):
    if reader:
        people = world.people
        login(getattr(people, reader))
    url = address.format(contract=world.contract.id, funding=world.funding.id, task=world.task.id)
    assert client.get(url).status_code == 200, "the page without the parameter"
    answers = {}
    for value in values:
        response = client.get(f"{url}?{urllib.parse.urlencode({name: value})}")
        answers[value] = (response.status_code, told(response))
    wrong = {v: a for v, a in answers.items() if not (400 <= a[0] < 500 and a[1])}
    assert wrong == {}


@pytest.mark.parametrize("target", NOT_LOCAL)
def test_a_redirect_target_that_is_not_on_this_site_is_not_followed(client, db, make_user, target):
    user = make_user()
    query = urllib.parse.urlencode({"next": target})
    response = client.post(f"/login?{query}", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    response = client.post("/language", data={"lang": "en", "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    response = client.post(f"/language?{query}", data={"lang": "en"})
    assert response.status_code == 302 and response.headers["Location"] == "/"


# --- the list above names every parameter a view reads ----------------------------------------

#: the ways a view reads the query: a key read by name, a form filled from the query (its
#: fields are the keys), a helper of crowdsource.web.QueryArguments, the API's declarations
READS = [
    re.compile(r"""request\.(?:args|values)\.get(?:list)?\(\s*["']([\w-]+)["']"""),
    re.compile(r"""request\.(?:args|values)\[\s*["']([\w-]+)["']\s*\]"""),
    re.compile(r"""\.(?:choice|ids)\(\s*["']([\w-]+)["']"""),
]
FORM_FROM_QUERY = re.compile(r"\b(\w+Form)\([^()]*\b(?:request\.args|args)\s*\)")
#: a key read by name in Python, not through a form or QueryArguments: each says why it may
DIRECT_READS = {
    ("accounts/org_views.py", "kind"): "checked against OrgKind, refused at its field",
    ("accounts/signin.py", "next"): "carried to the second step, followed by web.redirect_next",
    ("web.py", "next"): "web.redirect_next follows only web.is_safe_next targets",
    ("web.py", "page"): "QueryArguments.page checks it",
}
PAGE_HELPER = re.compile(r"\.page\(\)")
#: other lines that touch the query, and why none reads a key of its own
OTHER_USES = {
    ("web.py", "request.args.items(multi=True)"): "the control-character check reads them all",
    ("web.py", 'request.args.get("page", "")'): "QueryArguments.page",
    ("web.py", 'request.args.get(name, "")'): "QueryArguments.choice",
    ("web.py", "request.args.getlist(name)"): "QueryArguments.ids",
    ("stats/views.py", "MultiDict(request.args)"): "the dashboard's form (DashboardForm(args))",
    ("stats/views.py", "request.query_string.decode()"): "the CSV links keep the filters",
    ("stats/api.py", "p.parse(request.args,"): "the API's declarations",
    ("assets.py", "request.args.get(VERSION_ARGUMENT)"): (
        "a static file's fingerprint, compared with the file's own: any other value only goes "
        "without the year-long cache"
    ),
    ("templates/_macros.html", "request.args.to_dict()"): "the pager keeps the filters",
    ("templates/console/audit.html", "request.args.to_dict()"): "the CSV link keeps the filters",
}


def _form_classes():
    """Every FlaskForm of the app, by name (the app's modules imported)."""
    for module in pkgutil.walk_packages(crowdsource.__path__, "crowdsource."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {cls.__name__: cls for cls in subclasses(FlaskForm)}


def _is_field(value):
    return isinstance(value, UnboundField)


def _sources():
    for path in sorted([*SOURCES.rglob("*.py"), *SOURCES.rglob("*.html")]):
        if "migrations" not in path.parts:
            yield path.relative_to(SOURCES).as_posix(), path.read_text()


def test_every_query_parameter_a_view_reads_is_listed():
    listed = {name for _, _, parameters in PAGES.values() for name in parameters}
    listed |= set(REDIRECT_TARGETS.values())
    listed |= {param.name for declared in API.values() for param in declared}
    forms = _form_classes()
    read, unexplained, unchecked = {}, [], []
    for name, text in _sources():
        for number, line in enumerate(text.splitlines(), 1):
            direct = [key for pattern in READS[:2] for key in pattern.findall(line)]
            if name.endswith(".py"):
                unchecked += [
                    f"{name}:{number} {k}" for k in direct if (name, k) not in DIRECT_READS
                ]
            keys = direct + READS[2].findall(line)
            for form in FORM_FROM_QUERY.findall(line):
                keys += [key for key, _ in inspect.getmembers(forms[form], _is_field)]
            if PAGE_HELPER.search(line):
                keys.append("page")
            for key in keys:
                read.setdefault(key, f"{name}:{number}")
            touches = re.search(r"request\.(args|values|query_string)", line)
            explained = keys or any(
                name.endswith(file) and snippet in line for file, snippet in OTHER_USES
            )
            if touches and not explained:
                unexplained.append(f"{name}:{number}: {line.strip()}")
    assert {key: where for key, where in read.items() if key not in listed} == {}
    assert unexplained == []
    assert unchecked == [], "read through a form or web.QueryArguments, or say why not"
    assert {"page", "status", "center_id", "year_from", "format", "lang", "kind", "card"} <= set(
        read
    )


def test_no_list_lets_flask_sqlalchemy_read_the_page_from_the_query():
    """db.paginate() reads ``page`` and ``per_page`` from the query itself when not given
    them (unchecked): every call gives both."""
    calls = []
    for name, text in _sources():
        for match in re.finditer(r"\bdb\.paginate\(", text):
            depth, end = 0, match.end() - 1
            for end in range(match.end() - 1, len(text)):
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                if depth == 0:
                    break
            calls.append((name, text[match.end() : end]))
    assert calls
    assert [
        (name, call) for name, call in calls if "page=" not in call or "per_page" not in call
    ] == []
