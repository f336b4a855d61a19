"""Schemathesis against the OpenAPI document of the open-data API: for generated valid and
invalid parameters of every operation, no answer is a 5xx, every answer matches the document
(status, content type, headers, body schema), and parameters that break the document get a
4xx with a message.

Schemathesis' own pytest integration does not run on pytest 9 (it reads a node attribute that
pytest removed), so each operation's Hypothesis strategy is driven here directly; the checks
are Schemathesis' own (``call_and_validate``).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from tests.helpers import examples

#: examples per operation: 10 in the ``default`` Hypothesis profile, 100 ``deep`` (tests/plugin.py)
EXAMPLES = examples(0.1)


@pytest.fixture
def api_schema(app, market, monkeypatch):
    # the figures do not change during the run: compute them once
    monkeypatch.setitem(app.config, "STATS_CACHE_SECONDS", 600)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


def reversed_range(query):
    """A range whose start is after its end: each value fits the document, the pair does not
    (a 400 the document cannot express)."""
    query = query or {}
    comparable = (int, float, str)  # negative cases also send lists and objects
    return any(
        isinstance(query.get(first), comparable)
        and type(query.get(first)) is type(query.get(last))
        and query[first] > query[last]
        for first, last in (("year_from", "year_to"), ("month_from", "month_to"))
    )


def check_operation(operation, mode):
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case):
        # as a client that does not decompress (the WSGI transport does not; HTTP clients do)
        response = case.call(headers={"Accept-Encoding": "identity"})
        excluded = [positive_data_acceptance] if reversed_range(case.query) else []
        case.validate_response(response, excluded_checks=excluded)
        if response.status_code >= 400:
            assert response.json()["error"], response.text

    check()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_matches_the_document(api_schema, mode):
    found = operations(api_schema)
    assert len(found) == 10
    for operation in found:
        try:
            check_operation(operation, mode)
        except Exception as error:
            raise AssertionError(f"{operation.label} ({mode}): {error}") from error


def test_the_document_is_valid_openapi(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    schema = schemathesis.openapi.from_dict(document)
    assert {operation.path for operation in operations(schema)} >= {
        "/centers",
        "/tasks",
        "/tasks/{task_id}",
        "/stats/contracts-by-type",
    }
