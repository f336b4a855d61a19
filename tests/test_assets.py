"""What every page and static file is served with: compressed bodies, fingerprinted static
addresses kept by browsers for a year, a favicon and a description for search engines."""

import gzip
import re

import brotli
import pytest

from crowdsource.assets import IMMUTABLE_MAX_AGE, Fingerprints

#: the static files a page links to (stylesheets, scripts, the icon)
STATIC_LINK = re.compile(r'(?:href|src)="(/(?:bootstrap/)?static/[^"]+)"')


def static_links(client, path="/login"):
    return STATIC_LINK.findall(client.get(path).get_data(as_text=True))


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_page_is_sent_compressed_to_a_browser_that_accepts_it(client, encoding):
    plain = client.get("/login").get_data()
    response = client.get("/login", headers={"Accept-Encoding": encoding})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.get_data()
    assert len(body) < len(plain) / 2
    text = brotli.decompress(body) if encoding == "br" else gzip.decompress(body)
    assert b"<title>" in text


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_stylesheets_and_scripts_are_sent_compressed(client, encoding):
    decompress = brotli.decompress if encoding == "br" else gzip.decompress
    for url in static_links(client):
        if url.split("?")[0].endswith((".css", ".js")):
            response = client.get(url, headers={"Accept-Encoding": encoding})
            assert response.headers["Content-Encoding"] == encoding, url
            assert decompress(response.get_data()) == client.get(url).get_data()


def test_every_static_address_carries_the_hash_of_the_file_and_is_kept_for_a_year(client):
    links = static_links(client)
    assert any(link.startswith("/bootstrap/static/css/") for link in links)
    assert any(link.startswith("/static/app.css?v=") for link in links)
    for url in links:
        _, _, version = url.partition("?v=")
        assert re.fullmatch(r"[0-9a-f]{12}", version), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.cache_control.max_age == IMMUTABLE_MAX_AGE
        assert response.cache_control.public and response.cache_control.immutable
        response.close()


def test_a_static_address_with_an_old_hash_is_not_kept(client):
    response = client.get("/static/app.css?v=000000000000")
    assert response.status_code == 200
    assert not response.cache_control.immutable and response.cache_control.max_age is None
    response.close()


def test_a_changed_file_gets_a_new_fingerprint(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    (tmp_path / "site.css").write_text("body { color: black; }")
    with app.test_request_context():
        first = Fingerprints().of("static", "site.css")
        (tmp_path / "site.css").write_text("body { color: navy; }")
        second = Fingerprints().of("static", "site.css")
        assert Fingerprints().of("static", "../site.css") is None  # only files of the folder
    assert first != second


def test_the_favicon_linked_from_every_page_is_served(client):
    html = client.get("/").get_data(as_text=True)
    (icon,) = re.findall(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    response = client.get(icon)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data().startswith(b"<svg")
    response.close()


def description(client, path):
    html = client.get(path).get_data(as_text=True)
    (text,) = re.findall(r'<meta name="description" content="([^"]*)">', html)
    return text


def test_each_main_page_describes_itself(client, people, make_task):
    task = make_task(people.owner, people.enterprise, summary="Inspect weld seams by camera.")
    texts = {
        path: description(client, path)
        for path in ("/", "/tasks", "/statistics", "/login", "/register", "/centers")
    }
    assert all(len(text) > 40 for text in texts.values()), texts
    assert len(set(texts.values())) == len(texts)  # each its own
    assert description(client, f"/tasks/{task.id}") == "Inspect weld seams by camera."
    # a page without its own gets the site's
    assert "innovation marketplace" in description(client, "/password/forgot")
