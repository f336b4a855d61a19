"""Rate limit of the open-data API per client: at most ``API_RATE_LIMIT`` requests in each
window of ``API_RATE_LIMIT_SECONDS`` (0 turns the limit off). Past it the API answers 429 with
``Retry-After`` (the seconds until the window ends) and a JSON message.

Counting is in Redis when ``REDIS_URL`` is set (every app server counts the same requests),
else in this process's memory; a Redis that fails or hangs neither fails nor holds the request
(see crowdsource.throttle).
"""

from flask import current_app, g
from flask_babel import lazy_gettext as _l

from crowdsource.errors import TooManyAttempts
from crowdsource.throttle import Exhausted, client_address, spend


def check_rate_limit():
    """Count this request; raise TooManyAttempts (429) past the limit. A before_request hook
    of the API blueprint."""
    limit = current_app.config["API_RATE_LIMIT"]
    window = current_app.config["API_RATE_LIMIT_SECONDS"]
    if limit <= 0 or window <= 0:
        return
    try:
        spent = spend("api", client=client_address())
    except Exhausted as refusal:
        g.rate_limit = (limit, 0)
        retry_after = refusal.retry_after
        raise TooManyAttempts(
            _l(
                "Too many requests: at most %(limit)d every %(seconds)d seconds. "
                "Try again in %(retry)d seconds.",
                limit=limit,
                seconds=window,
                retry=retry_after,
            ),
            retry_after=retry_after,
        ) from None
    g.rate_limit = (limit, spent.remaining("api"))


def add_rate_limit_headers(response):
    """Tell the client its limit and what is left of it in this window."""
    if "rate_limit" in g:
        limit, remaining = g.rate_limit
        response.headers["X-RateLimit-Limit"] = str(limit)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
    return response
