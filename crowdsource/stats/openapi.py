"""The OpenAPI 3 document of the open-data API, in the reader's language, and the parameters
of each endpoint (built with params.py): the API checks requests with the same declarations
the document describes."""

from flask_babel import lazy_gettext as _l

from crowdsource.accounts.models import CenterLevel
from crowdsource.stats import params as p
from crowdsource.stats.disclosure import Reason, Rules
from crowdsource.tasks import listing

NO_SUCH_CENTER = _l("There is no center with this code.")
NO_SUCH_TASK = _l("There is no public open task with this id.")
NOT_A_CITY = _l("Statistics by city are published for the province and its cities only.")
LEVEL_DESCRIPTION = _l("Only centers of this level.")
PARENT_DESCRIPTION = _l("Only the centers directly below the center with this code.")
Q_DESCRIPTION = _l(
    "Keywords, in Chinese or English; a task matches when it has at least one, and tasks"
    " matching more of them come first (those matching all of them first of all)."
)
CENTER_FILTER_DESCRIPTION = _l("Code of a center: its tasks and those of the centers below it.")
CITY_FILTER_DESCRIPTION = _l("Code of the province or of a city.")
SKILL_DESCRIPTION = _l("A skill or field tag.")
BUDGET_MIN_DESCRIPTION = _l("Tasks whose budget reaches at least this many yuan.")
BUDGET_MAX_DESCRIPTION = _l("Tasks whose budget starts at most at this many yuan.")
SORT_DESCRIPTION = _l("Order: newest (default), deadline, budget_high or budget_low.")

#: the largest id a path may name (ids are 64-bit at most in the database)
MAX_ID = 2**31 - 1

SUPPRESSED = _l("True when the cell is not shown (see suppressed_by). Its figures are then null.")
SUPPRESSED_BY = _l(
    "Which rule hid the cell, null when it is shown: threshold (fewer than k distinct "
    "enterprises or payees; for tasks, enterprises; for bids, bidders), dominance (the p %% "
    "rule: the value less its two largest contributions, summed per contributor, is under p %% "
    "of the largest) or complementary (hidden as well, so that no hidden cell can be worked "
    "out from the shown ones, also by a party who subtracts its own contracts). k is "
    "%(k)s and p is %(p)s here."
)


# --- the parameters the API takes (it parses requests with these) -------------------------

CENTER_PARAMS = [
    p.choice("level", LEVEL_DESCRIPTION, [level.value for level in CenterLevel]),
    p.text("parent", PARENT_DESCRIPTION, 40),
    p.PAGE,
    p.PER_PAGE,
]


TASK_PARAMS = [
    p.text("q", Q_DESCRIPTION, 100),
    p.CONTRACT_TYPE,
    p.text("center", CENTER_FILTER_DESCRIPTION, 40),
    p.text("skill", SKILL_DESCRIPTION, 40),
    p.integer("budget_min", BUDGET_MIN_DESCRIPTION, 0, 1_000_000_000),
    p.integer("budget_max", BUDGET_MAX_DESCRIPTION, 0, 1_000_000_000),
    p.choice("sort", SORT_DESCRIPTION, list(listing.ORDER)),
    p.PAGE,
    p.PER_PAGE,
]


STATS_PARAMS = {
    "years": [p.YEAR_FROM, p.YEAR_TO],
    "contracts-by-type": [p.YEAR_FROM, p.YEAR_TO, p.CONTRACT_TYPE],
    "contracts-by-city": [
        p.YEAR_FROM,
        p.YEAR_TO,
        p.text("center", CITY_FILTER_DESCRIPTION, 40),
    ],
    "contracts-by-month": [p.MONTH_FROM, p.MONTH_TO],
    "tasks-by-year": [p.YEAR_FROM, p.YEAR_TO],
    "tasks-by-type": [p.YEAR_FROM, p.YEAR_TO, p.CONTRACT_TYPE],
}


def _nullable(kind, **more):
    return {"type": kind, "nullable": True, **more}


def _object(properties, required=None):
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(required or properties),
        "properties": properties,
    }


def _page_of(item_ref, **more):
    properties = {
        "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item_ref}"}},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1},
        "total": {"type": "integer", "minimum": 0},
        "pages": {"type": "integer", "minimum": 0},
        **more,
    }
    return _object(properties)


def schemas():
    count = _nullable("integer", minimum=0)
    fen = _nullable("integer", description=str(_l("Value in fen (1/100 yuan).")))
    change = _nullable("number", description=str(_l("Change on the previous year: 0.25 = +25 %.")))
    covers = {
        "type": "string",
        "pattern": r"^\d{4}-\d{2}$",
        "description": str(_l("The last (complete) month the figures cover.")),
    }
    suppressed = {"type": "boolean", "description": str(SUPPRESSED)}
    rules = Rules.configured()
    suppressed_by = _nullable(
        "string",
        enum=[*(reason.value for reason in Reason), None],
        description=str(SUPPRESSED_BY % dict(k=rules.min_contributors, p=rules.dominance_percent)),
    )
    types = [t.value for t in p.ContractType]
    year = {"type": "integer"}
    stats_rows = {
        "YearRow": {"year": year, "contracts": count, "value_fen": fen, "change": change},
        "TypeRow": {
            "year": year,
            "contract_type": {"type": "string", "enum": types},
            "contracts": count,
            "value_fen": fen,
            "change": change,
        },
        "CityRow": {
            "year": year,
            "center": {"type": "string"},
            "center_name_zh": {"type": "string"},
            "center_name_en": {"type": "string"},
            "contracts": count,
            "value_fen": fen,
            "change": change,
        },
        "MonthRow": {"month": {"type": "string"}, "contracts": count, "value_fen": fen},
        "TaskYearRow": {"year": year, "tasks": count, "bids_per_task": _nullable("number")},
        "TaskTypeRow": {
            "year": year,
            "contract_type": {"type": "string", "enum": types},
            "tasks": count,
            "bids_per_task": _nullable("number"),
        },
    }
    result = {
        "Error": _object({"error": {"type": "string", "minLength": 1}}),
        "Center": _object(
            {
                "code": {"type": "string"},
                "name_zh": {"type": "string"},
                "name_en": {"type": "string"},
                "level": {"type": "string", "enum": ["province", "city", "county"]},
                "parent": _nullable("string"),
            }
        ),
        "CenterPage": _page_of("Center"),
        "Task": _object(
            {
                "id": {"type": "integer"},
                "url": {"type": "string", "format": "uri"},
                "title": {"type": "string"},
                "summary": {"type": "string"},
                "contract_type": {"type": "string", "enum": types},
                "center": {"type": "string"},
                "budget_min_fen": {"type": "integer"},
                "budget_max_fen": {"type": "integer"},
                "currency": {"type": "string"},
                "bid_deadline": {"type": "string", "format": "date-time"},
                "delivery_date": {"type": "string", "format": "date"},
                "published_at": _nullable("string", format="date-time"),
                "fields": {"type": "array", "items": {"type": "string"}},
                "skills": {"type": "array", "items": {"type": "string"}},
                "bid_mode": {"type": "string", "enum": ["sealed", "open"]},
                "nda_required": {"type": "boolean"},
                "bids": {"type": "integer", "minimum": 0},
            }
        ),
        "TaskPage": _page_of("Task"),
    }
    for name, properties in stats_rows.items():
        result[name] = _object(
            {**properties, "suppressed": suppressed, "suppressed_by": suppressed_by}
        )
        result[f"{name}Page"] = _page_of(name, covers_until=covers)
    return result


def _error(description):
    return {
        "description": str(description),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _responses(page_schema, not_found=True):
    responses = {
        "200": {
            "description": str(_l("The data.")),
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{page_schema}"}}
            },
        },
        "400": _error(_l("A parameter is not valid; the message says which and why.")),
        "429": {
            **_error(_l("Too many requests from this client; try again later.")),
            "headers": {
                "Retry-After": {
                    "description": str(_l("Seconds to wait before the next request.")),
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
        },
    }
    if not_found:
        responses["404"] = _error(_l("Not found: no such center or task."))
    return responses


def _operation(operation_id, summary, description, parameters, page_schema, path_params=()):
    center_filter = any(param.name in ("center", "parent") for param in parameters)
    return {
        "get": {
            "operationId": operation_id,
            "summary": str(summary),
            "description": str(description),
            "parameters": list(path_params) + p.openapi_parameters(parameters),
            "responses": _responses(page_schema, not_found=bool(path_params) or center_filter),
        }
    }


STATS_DOCS = {
    "years": (
        "YearRowPage",
        _l("Contracts by year"),
        _l("Contracts signed per year and their value, with the change on the previous year."),
    ),
    "contracts-by-type": (
        "TypeRowPage",
        _l("Contracts by contract type and year"),
        _l("Development, transfer, consulting and service contracts per year."),
    ),
    "contracts-by-city": (
        "CityRowPage",
        _l("Contracts by city and year"),
        _l("Each city with the counties below it; the province's own contracts under it."),
    ),
    "contracts-by-month": (
        "MonthRowPage",
        _l("Contracts by month"),
        _l("Contracts signed per month (platform time zone) and their value."),
    ),
    "tasks-by-year": (
        "TaskYearRowPage",
        _l("Tasks posted by year"),
        _l("Tasks posted per year and the bids they received per task."),
    ),
    "tasks-by-type": (
        "TaskTypeRowPage",
        _l("Tasks posted by contract type and year"),
        _l("Tasks posted per contract type and year, and bids per task."),
    ),
}


def document(server_url):
    """The OpenAPI 3.0 document, with ``server_url`` as the API's base."""
    code = {
        "name": "code",
        "in": "path",
        "required": True,
        # no slash, no control characters (every address refuses them: crowdsource.web)
        "schema": {"type": "string", "pattern": "^[^/\\u0000-\\u001f\\u007f]{1,40}$"},
    }
    task_id = {
        "name": "task_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    }
    paths = {
        "/centers": _operation(
            "listCenters",
            _l("Innovation centers"),
            _l("The province → city → county tree of innovation centers."),
            CENTER_PARAMS,
            "CenterPage",
        ),
        "/centers/{code}": _operation(
            "getCenter", _l("One center"), _l("A center by its code."), [], "Center", [code]
        ),
        "/tasks": _operation(
            "listTasks",
            _l("Public open tasks"),
            _l(
                "The tasks open for bids that everyone may see, as the public task list shows "
                "them (without the posting organization)."
            ),
            TASK_PARAMS,
            "TaskPage",
        ),
        "/tasks/{task_id}": _operation(
            "getTask",
            _l("One public open task"),
            _l("A public task open for bids, by its id."),
            [],
            "Task",
            [task_id],
        ),
    }
    for name, (schema, summary, description) in STATS_DOCS.items():
        parameters = [*STATS_PARAMS[name], p.PAGE, p.PER_PAGE]
        operation_id = "stats" + "".join(part.title() for part in name.split("-"))
        paths[f"/stats/{name}"] = _operation(
            operation_id, summary, str(description) + " " + str(SUPPRESSED), parameters, schema
        )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": str(_l("Crowdsource open data")),
            "version": "1.0.0",
            "description": str(
                _l(
                    "Read-only open data of the Crowdsource marketplace: innovation centers, "
                    "public open tasks and market statistics (aggregates only: no party is "
                    "named, no single contract's amount is given, and a cell is hidden when it "
                    "has too few contributors, when one contributor dominates it, or when it "
                    "could be worked out from the others: see suppressed_by). Amounts are in "
                    "fen (1/100 yuan). Requests are "
                    "limited per client; past the limit the answer is 429 with Retry-After."
                )
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": schemas()},
    }
