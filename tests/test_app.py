"""The application shell: configuration, security headers, CSRF, error pages, sanitizer."""

import pytest

from crowdsource import create_app
from crowdsource.config import ConfigError
from crowdsource.text import render_markdown
from tests.helpers import table_counts


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("CROWDSOURCE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_uses_secure_cookies(monkeypatch):
    monkeypatch.setenv("CROWDSOURCE_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a real secret")
    monkeypatch.setenv("UPLOAD_FOLDER", "/srv/crowdsource/uploads")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.secret_key == "a real secret"


def test_embedded_defaults(monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "CROWDSOURCE_ENV", "SECRET_KEY", "MAIL_SERVER"):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/crowdsource.db") or (
        app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///crowdsource.db"
    )
    assert app.config["REDIS_URL"] is None
    assert app.config["MAIL_BACKEND"] == "crowdsource.mail.LogEmailBackend"
    assert not app.config["SESSION_COOKIE_SECURE"]


@pytest.mark.parametrize("path", ["/", "/login", "/no-such-page", "/static/app.css"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_load_nothing_from_other_hosts(client):
    page = client.get("/").get_data(as_text=True)
    assert "http://" not in page.replace("http://localhost", "")
    assert "https://" not in page
    assert "/bootstrap/static/" in page  # Bootstrap is served by the app itself


def test_post_without_csrf_token_is_400_and_stores_nothing(app, client, make_user, centers):
    app.config["WTF_CSRF_CHECK_DEFAULT"] = True
    user = make_user()
    before = table_counts()
    response = client.post(
        "/login", data={"email": user.email, "password": "correct horse battery"}, csrf=False
    )
    assert response.status_code == 400
    assert "The form has expired or was not sent from this site." in response.get_data(as_text=True)
    assert table_counts() == before


def test_oversized_body_is_413_and_stores_nothing(app, client, make_user, login, centers):
    login(make_user())
    before = table_counts()
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        "/orgs/new",
        data={
            "name": "Big",
            "kind": "enterprise",
            "credit_code": "91370200MA3C9F2X38",
            "center_id": centers["qingdao"].id,
            "description": "x" * (limit + 1),
        },
    )
    assert response.status_code == 413
    assert "Request too large" in response.get_data(as_text=True)
    assert table_counts() == before


def test_unknown_page_is_404_in_the_users_language(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert "页面不存在" in client.get("/no-such-page").get_data(as_text=True)


def test_api_clients_get_json_errors(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json() == {"error": "There is nothing at this address."}


def test_method_not_allowed_is_405(client):
    assert client.get("/logout").status_code == 405


def test_unexpected_errors_show_the_500_page(backend, make_database_url):
    from tests.plugin import app_config

    app = create_app(app_config("sqlite://", TESTING=False))

    @app.get("/boom")
    def boom():
        raise RuntimeError("internal detail 0xDEADBEEF")

    response = app.test_client().get("/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page and "0xDEADBEEF" not in page
    response = app.test_client().get("/boom", headers={"Accept-Language": "zh-CN"})
    assert "出错了" in response.get_data(as_text=True)


def test_markdown_is_rendered_and_sanitized():
    html = render_markdown(
        "**bold** <script>alert(1)</script> [x](javascript:alert(1)) "
        '<img src=x onerror=alert(1)> <a href="https://example.com" onclick="x()">ok</a>'
    )
    assert "<strong>bold</strong>" in html
    assert "<script" not in html and "onerror" not in html and "onclick" not in html
    assert "javascript:" not in html and "<img" not in html
    assert 'href="https://example.com"' in html
