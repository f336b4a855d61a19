"""The open-data API as a client sees it: centers and public open tasks with filters and
pages, JSON errors that say what is wrong, the documentation page, and the rate limit."""

import uuid

import pytest
import redis

from tests.stats.market import OPEN_TASK_TITLE, PRIVATE_TASK_TITLE


def get(client, url, **query):
    response = client.get(url, query_string=query)
    return response.status_code, response.get_json()


def test_centers_with_filters_and_pages(market, client):
    status, body = get(client, "/api/v1/centers", per_page=2)
    assert status == 200
    assert (body["total"], body["pages"], len(body["items"])) == (4, 2, 2)
    assert body["items"][0] == {
        "code": "shandong",
        "name_zh": "山东省",
        "name_en": "Shandong",
        "level": "province",
        "parent": None,
    }
    _, body = get(client, "/api/v1/centers", parent="qingdao")
    assert [c["code"] for c in body["items"]] == ["laoshan"]
    _, body = get(client, "/api/v1/centers", level="city")
    assert {c["code"] for c in body["items"]} == {"qingdao", "zibo"}
    _, body = get(client, "/api/v1/centers", page=9)
    assert body["items"] == [] and body["total"] == 4
    status, body = get(client, "/api/v1/centers/zibo")
    assert status == 200 and body["parent"] == "shandong"
    status, body = get(client, "/api/v1/centers/atlantis")
    assert status == 404 and body["error"] == "There is no center with this code."


def test_tasks_are_the_public_open_ones_without_their_organization(market, people, client):
    status, body = get(client, "/api/v1/tasks")
    assert status == 200
    titles = [task["title"] for task in body["items"]]
    assert OPEN_TASK_TITLE in titles
    assert PRIVATE_TASK_TITLE not in titles
    assert not any(title.startswith("Market task") for title in titles)  # awarded: not open
    task = next(t for t in body["items"] if t["title"] == OPEN_TASK_TITLE)
    assert task["center"] == "zibo" and task["bids"] == 1
    assert task["budget_min_fen"] == 700_000 and task["contract_type"] == "service"
    assert "organization" not in task and "Zibo Ceramics" not in str(task)
    status, body = get(client, f"/api/v1/tasks/{market.private_task.id}")
    assert status == 404 and body["error"]


def test_task_filters(market, client):
    def titles(**query):
        status, body = get(client, "/api/v1/tasks", per_page=100, **query)
        assert status == 200, body
        return {task["title"] for task in body["items"]}

    assert OPEN_TASK_TITLE in titles(center="zibo")
    assert OPEN_TASK_TITLE in titles(center="shandong")  # a subtree
    assert OPEN_TASK_TITLE not in titles(center="qingdao")
    assert OPEN_TASK_TITLE in titles(contract_type="service")
    assert OPEN_TASK_TITLE not in titles(contract_type="transfer")
    assert titles(q="kiln temperature") == {OPEN_TASK_TITLE}
    assert OPEN_TASK_TITLE in titles(budget_min=9000, budget_max=20000)
    assert OPEN_TASK_TITLE not in titles(budget_min=9001)
    assert get(client, "/api/v1/tasks", center="atlantis")[0] == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"per_page": "500"}, "per_page must be between 1 and 100."),
        ({"page": "abc"}, "page must be a whole number."),
        ({"contract_type": "loans"}, "contract_type must be one of: development, transfer"),
        ({"colour": "red"}, "Unknown parameter: colour."),
        ({"q": ""}, "q must not be empty."),
        ({"q": "a\tb"}, "q contains control characters."),  # a NUL: tests/test_bad_input.py
        ({"q": "x" * 101}, "q is too long (at most 100 characters)."),
    ],
)
def test_bad_task_parameters_get_a_400_that_says_why(market, client, query, message):
    status, body = get(client, "/api/v1/tasks", **query)
    assert status == 400
    assert body["error"].startswith(message)


def test_bad_statistics_parameters_get_a_400_that_says_why(market, client):
    status, body = get(client, "/api/v1/stats/years", year_from=2025, year_to=2024)
    assert (status, body["error"]) == (400, "year_from must not be after year_to.")
    status, body = get(client, "/api/v1/stats/contracts-by-month", month_from="2025-13")
    assert status == 400 and "month_from must look like 2025-07" in body["error"]
    status, body = get(client, "/api/v1/stats/years", year_from=1899)
    assert status == 400 and "between 2000 and 2100" in body["error"]
    response = client.get("/api/v1/stats/years?page=1&page=2")
    assert response.status_code == 400 and response.get_json()["error"] == "Give page only once."
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404 and response.get_json()["error"]
    response = client.post("/api/v1/tasks", csrf=False)
    assert response.status_code == 405 and response.get_json()["error"]


def test_any_web_page_may_read_the_open_data(market, client):
    response = client.get("/api/v1/stats/years")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.get_json()["covers_until"]


def test_the_documentation_page_describes_every_operation(market, client):
    document = client.get("/api/v1/openapi.json").get_json()
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert page.count('data-testid="operation"') == len(document["paths"])
    for path, item in document["paths"].items():
        assert f"/api/v1{path}" in page
        for parameter in item["get"]["parameters"]:
            assert f"<code>{parameter['name']}</code>" in page


def use_client(client):
    """A client address of its own, so that counts of other tests do not mix in."""
    client.environ_base["REMOTE_ADDR"] = f"10.{uuid.uuid4().int % 250}.0.{uuid.uuid4().int % 250}"
    return client.environ_base["REMOTE_ADDR"]


def test_past_the_limit_a_client_gets_429_with_retry_after(market, client, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 3)
    # windows are aligned on the clock: a long one makes crossing into the next unlikely
    monkeypatch.setitem(app.config, "API_RATE_LIMIT_SECONDS", 3600)
    use_client(client)
    remaining = [client.get("/api/v1/centers").headers["X-RateLimit-Remaining"] for _ in "abc"]
    assert remaining == ["2", "1", "0"]
    response = client.get("/api/v1/stats/years")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    assert response.get_json()["error"].startswith("Too many requests: at most 3 every 3600")
    use_client(client)  # another client is counted on its own
    assert client.get("/api/v1/centers").status_code == 200
    assert client.get("/statistics").status_code == 200  # pages are not limited


def test_with_redis_every_app_server_counts_the_same_requests(market, counting_app, redis_url):
    servers = [counting_app(redis_url, API_RATE_LIMIT=2, API_RATE_LIMIT_SECONDS=3600) for _ in "ab"]
    clients = [server.test_client() for server in servers]
    address = use_client(clients[0])
    clients[1].environ_base["REMOTE_ADDR"] = address
    assert clients[0].get("/api/v1/centers").status_code == 200
    assert clients[1].get("/api/v1/centers").status_code == 200  # no memory of its own
    response = clients[0].get("/api/v1/centers")
    assert response.status_code == 429 and response.headers["Retry-After"]
    connection = redis.Redis.from_url(redis_url)
    keys = connection.keys(f"crowdsource:ratelimit:*{address}*")
    assert keys and all(0 < connection.ttl(key) <= 3601 for key in keys)
    connection.delete(*keys)
