"""gunicorn's settings for Crowdsource: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

It listens on 127.0.0.1:8000 for nginx in front (deploy/nginx.conf; set PROXY_COUNT=1 for the
app). Lines go to the console, one per record, in the app's format (LOG_FORMAT: JSON in
production, key=value otherwise): gunicorn's own messages on standard error, and one access
line per request on standard output with method, path, status, bytes, duration_ms,
request_id (the X-Request-ID the app answered with) and client (the address nginx saw).

Environment: GUNICORN_BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (worker processes,
default 4), GUNICORN_TIMEOUT (seconds a request may take before its worker is restarted,
default 30). A command-line option wins over this file (``--bind``, ``--workers``).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Each worker builds the app itself (no preload): nothing is shared across a fork.
preload_app = False

accesslog = "-"
errorlog = "-"
# The access line as fields, and gunicorn's messages, in the app's one-line format.
logger_class = "crowdsource.logs.GunicornLogger"
