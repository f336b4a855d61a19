"""Static files with fingerprinted addresses: every ``url_for`` of the app's static files and
of Bootstrap-Flask's local copy carries ``?v=<hash of the file's content>``, and a request
with the file's current hash is answered with a one-year, immutable cache lifetime. A changed
file gets a new address, so browsers never keep a stale copy and never ask again for a
current one. Responses are compressed (gzip, brotli, zstd) by Flask-Compress."""

import hashlib
import os

from flask import current_app, request

#: the endpoints that serve static files, fingerprinted
STATIC_ENDPOINTS = ("static", "bootstrap.static")
#: the query parameter that carries the fingerprint
VERSION_ARGUMENT = "v"
#: a fingerprinted file may be kept for a year (RFC 9111 advises no more)
IMMUTABLE_MAX_AGE = 365 * 24 * 3600
#: hex digits of the content hash in an address
FINGERPRINT_LENGTH = 12
#: static files read into memory before they are sent, so that they are compressed whole
#: (with a length, and gzip for browsers without brotli) instead of as a stream
TEXT_TYPES = frozenset({"text/css", "text/javascript", "application/javascript", "image/svg+xml"})


class Fingerprints:
    """The content hash of each static file, computed once per file and process (the files
    ship with the package and do not change while it runs)."""

    def __init__(self):
        self._known = {}

    def of(self, endpoint, filename):
        """The fingerprint of ``filename`` served by ``endpoint``; None if no such file."""
        key = (endpoint, filename)
        if key not in self._known:
            self._known[key] = _digest(_path(endpoint, filename))
        return self._known[key]


def _path(endpoint, filename):
    app = current_app
    blueprint = endpoint.rpartition(".")[0]
    folder = app.blueprints[blueprint].static_folder if blueprint else app.static_folder
    if not folder:
        return None
    path = os.path.realpath(os.path.join(folder, filename))
    if not path.startswith(os.path.realpath(folder) + os.sep):
        return None
    return path


def _digest(path):
    if path is None or not os.path.isfile(path):
        return None
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()[:FINGERPRINT_LENGTH]


def init_app(app):
    """Fingerprint the static addresses of ``app`` and give them their cache lifetime."""
    fingerprints = Fingerprints()
    app.extensions["static_fingerprints"] = fingerprints

    @app.url_defaults
    def add_fingerprint(endpoint, values):
        if endpoint in STATIC_ENDPOINTS and "filename" in values:
            fingerprint = fingerprints.of(endpoint, values["filename"])
            if fingerprint is not None:
                values.setdefault(VERSION_ARGUMENT, fingerprint)

    @app.after_request
    def cache_fingerprinted(response):
        if request.endpoint not in STATIC_ENDPOINTS or response.status_code != 200:
            return response
        if response.mimetype in TEXT_TYPES:
            response.direct_passthrough = False
            response.set_data(response.get_data())
        filename = (request.view_args or {}).get("filename", "")
        asked = request.args.get(VERSION_ARGUMENT)
        if asked and asked == fingerprints.of(request.endpoint, filename):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = IMMUTABLE_MAX_AGE
            response.cache_control.immutable = True
        return response
