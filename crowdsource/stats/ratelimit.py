"""Rate limit of the open-data API per client: at most ``API_RATE_LIMIT`` requests in each
window of ``API_RATE_LIMIT_SECONDS`` (0 turns the limit off). Past it the API answers 429 with
``Retry-After`` (the seconds until the window ends) and a JSON message.

Counting is in Redis when ``REDIS_URL`` is set (every app server counts the same requests),
else in this process's memory; a Redis that fails or hangs neither fails nor holds the request
(see crowdsource.throttle).
"""

import time

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from limits import RateLimitItemPerSecond

from crowdsource.errors import TooManyAttempts
from crowdsource.throttle import client_address, counters


def check_rate_limit():
    """Count this request; raise TooManyAttempts (429) past the limit. A before_request hook
    of the API blueprint."""
    app = current_app._get_current_object()
    limit = app.config["API_RATE_LIMIT"]
    window = app.config["API_RATE_LIMIT_SECONDS"]
    if limit <= 0 or window <= 0:
        return
    item = RateLimitItemPerSecond(limit, window)
    client = client_address()
    allowed = counters(app).hit(item, "api", client)
    stats = counters(app).window(item, "api", client)
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
