"""Counting what each client does, in fixed windows: the open-data API's rate limit and the
limit on failed logins from one address. And who the client is.

Counting is the ``limits`` library's fixed-window strategy (the library under Flask-Limiter):
in Redis when ``REDIS_URL`` is set, so that every app server counts the same requests;
otherwise in this process's memory (the embedded mode runs one process).

A Redis that refuses connections or accepts them and never answers must neither fail the
request nor hold it: each call waits at most ``REDIS_TIMEOUT_SECONDS``, and after a failure the
counting moves to this process's memory for ``REDIS_RETRY_SECONDS`` (one warning in the log),
so that a hung Redis costs one request that short wait, not every request. The limits then hold
per process instead of for the whole site: looser, never off.
"""

import ipaddress
import logging
import time

from flask import request
from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)

#: prefix of the counters' keys in Redis
KEY_PREFIX = "crowdsource:ratelimit"
#: the longest address stored (LoginAttempt.ip) or counted
MAX_ADDRESS_LENGTH = 45
#: longest wait for Redis to connect or answer: every request of the API waits on it
REDIS_TIMEOUT_SECONDS = 0.5
#: after Redis failed, how long to count in memory before trying it again
REDIS_RETRY_SECONDS = 30


def client_address():
    """The client's address: the peer of the connection or, behind ``PROXY_COUNT`` trusted
    proxies, the address the nearest of them saw (ProxyFix, wired in create_app). With no
    trusted proxy a client's X-Forwarded-For header changes nothing. A forwarded value that is
    no IP address (only a misconfigured proxy passes one on) counts as the proxy itself."""
    for address in (request.remote_addr, _peer_address()):
        try:
            text = str(ipaddress.ip_address(address or ""))
        except ValueError:
            continue
        if len(text) <= MAX_ADDRESS_LENGTH:
            return text
    return "unknown"


def _peer_address():
    """The address of the connection's peer, before ProxyFix replaced it."""
    return request.environ.get("werkzeug.proxy_fix.orig", {}).get("REMOTE_ADDR")


def counters(app):
    """The app's :class:`Counters`, on the Redis of ``REDIS_URL`` or in memory; made again when
    the URL changed."""
    url = app.config.get("REDIS_URL")
    found = app.extensions.get("throttle_counters")
    if found is None or found.redis_url != url:
        found = app.extensions["throttle_counters"] = Counters(url)
    return found


class Counters:
    """Fixed-window counters of the ``limits`` library, in Redis (falling back to memory while
    it fails) or in memory."""

    def __init__(self, redis_url=None):
        self.redis_url = redis_url
        self._memory = FixedWindowRateLimiter(MemoryStorage())
        self._redis = None
        self._redis_failed_at = None
        if redis_url:
            storage = RedisStorage(
                redis_url,
                key_prefix=KEY_PREFIX,
                wrap_exceptions=True,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
            )
            self._redis = FixedWindowRateLimiter(storage)

    def hit(self, item, *identifiers):
        """Count one event; False when it is past the limit ``item``."""
        return self._call("hit", item, identifiers)

    def test(self, item, *identifiers):
        """True while one more event would be within the limit (counts nothing)."""
        return self._call("test", item, identifiers)

    def window(self, item, *identifiers):
        """The ``limits`` WindowStats: ``reset_time`` (epoch seconds) and ``remaining``."""
        return self._call("get_window_stats", item, identifiers)

    def _call(self, method, item, identifiers):
        if self._redis is not None and self._redis_usable():
            try:
                return getattr(self._redis, method)(item, *identifiers)
            except StorageError as error:
                self._redis_failed_at = time.monotonic()
                log.warning(
                    "rate-limit counters: Redis failed (%s); counting in this process's "
                    "memory for %d s",
                    error.storage_error,
                    REDIS_RETRY_SECONDS,
                )
        return getattr(self._memory, method)(item, *identifiers)

    def _redis_usable(self):
        failed_at = self._redis_failed_at
        return failed_at is None or time.monotonic() - failed_at >= REDIS_RETRY_SECONDS


class ClientLimit:
    """At most ``limit`` events of one ``kind`` from one client in each window of ``seconds``
    (``limit`` 0: no limit)."""

    def __init__(self, app, kind, client, limit, seconds):
        self.counters, self.kind, self.client = counters(app), kind, client
        self.item = RateLimitItemPerSecond(limit, seconds) if limit > 0 and seconds > 0 else None

    def seconds_to_wait(self):
        """0 while the client has events left in this window, else the seconds until it ends."""
        if self.item is None or self.counters.test(self.item, self.kind, self.client):
            return 0
        reset_time = self.counters.window(self.item, self.kind, self.client).reset_time
        return max(1, int(reset_time - time.time() + 0.999))

    def count(self):
        """Count one event of this client."""
        if self.item is not None:
            self.counters.hit(self.item, self.kind, self.client)
