"""Rate limit of the open-data API per client: at most ``API_RATE_LIMIT`` requests in each
window of ``API_RATE_LIMIT_SECONDS`` (0 turns the limit off). Past it the API answers 429 with
``Retry-After`` (the seconds until the window ends) and a JSON message.

Counting is the ``limits`` library's fixed-window strategy (the library under Flask-Limiter):
in Redis when ``REDIS_URL`` is set, so that every app server counts the same requests;
otherwise in this process's memory (the embedded mode runs one process). If Redis does not
answer the request is let through (and logged): the limit protects the service, it must not
take it down.
"""

import logging
import time

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

from crowdsource.errors import TooManyAttempts

log = logging.getLogger(__name__)

#: prefix of the counters' keys in Redis
KEY_PREFIX = "crowdsource:ratelimit"


def _limiter(app):
    """The app's fixed-window limiter (the ``limits`` library), on Redis when ``REDIS_URL`` is
    set, else in this process's memory; made again if the URL changed."""
    url = app.config.get("REDIS_URL")
    found = app.extensions.get("stats_rate_limiter")
    if found is None or found[0] != url:
        if url:
            storage = RedisStorage(
                url, key_prefix=KEY_PREFIX, socket_timeout=0.5, socket_connect_timeout=0.5
            )
        else:
            storage = MemoryStorage()
        found = (url, FixedWindowRateLimiter(storage))
        app.extensions["stats_rate_limiter"] = found
    return found[1]


def client_key():
    """Who the client is: its address (behind a proxy, configure ProxyFix so that this is the
    client's, not the proxy's)."""
    return request.remote_addr or "unknown"


def check_rate_limit():
    """Count this request; raise TooManyAttempts (429) past the limit. A before_request hook
    of the API blueprint."""
    app = current_app._get_current_object()
    limit = app.config["API_RATE_LIMIT"]
    window = app.config["API_RATE_LIMIT_SECONDS"]
    if limit <= 0 or window <= 0:
        return
    item = RateLimitItemPerSecond(limit, window)
    limiter = _limiter(app)
    try:
        allowed = limiter.hit(item, client_key())
        stats = limiter.get_window_stats(item, client_key())
    except Exception:
        log.exception("rate limit counter failed; request let through")
        return
    g.rate_limit = (limit, stats.remaining)
    if not allowed:
        retry_after = max(1, int(stats.reset_time - time.time() + 0.999))
        raise TooManyAttempts(
            _l(
                "Too many requests: at most %(limit)d every %(seconds)d seconds. "
                "Try again in %(retry)d seconds.",
                limit=limit,
                seconds=window,
                retry=retry_after,
            ),
            retry_after=retry_after,
        )


def add_rate_limit_headers(response):
    """Tell the client its limit and what is left of it in this window."""
    if "rate_limit" in g:
        limit, remaining = g.rate_limit
        response.headers["X-RateLimit-Limit"] = str(limit)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
    return response
