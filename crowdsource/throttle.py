"""Counting what clients and accounts do, in fixed windows, and refusing past a limit: the
open-data API's rate limit, the limits on sign-in attempts, on content (questions, answers,
messages, bids, registrations, uploads) and on reset requests. And who the client is.

Counting is Flask-Limiter's, one ``Limiter`` per app (:func:`init_app`): in Redis when
``REDIS_URL`` (or ``RATELIMIT_STORAGE_URI``) is set, so that every app server counts the same
events; otherwise in this process's memory (the embedded mode runs one process). Each *gate*
(:data:`GATES`) is a set of shared limits on a function of Flask-Limiter's that the code calls
where the event happens (:func:`spend`), with the keys it names (an account, a client address):
a hit is counted before the action, atomically (Redis' INCR, a lock in memory), so that
concurrent requests never get more tries than the limit; a refused hit counts nothing, and a
hit the caller did not mean to count (a sign-in that succeeded) can be given back.

A Redis that refuses connections or accepts them and never answers must neither fail the
request nor hold it: each call waits at most ``REDIS_TIMEOUT_SECONDS``; after a failure
Flask-Limiter counts in this process's memory (its in-memory fallback, one warning in the log)
and asks Redis again after 1, 2, 4, … 32 seconds, so that a hung Redis costs a few requests a
minute that short wait, not every request. The limits then hold per process instead of for the
whole site: looser, never off. Errors of the counting are logged and swallowed.
"""

import contextlib
import dataclasses
import datetime as dt
import ipaddress
import logging
import time
from collections.abc import Callable

from flask import current_app, g, request
from flask_babel import format_timedelta
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter, RateLimitExceeded

from crowdsource.errors import TooManyAttempts

log = logging.getLogger(__name__)

#: the longest address stored (LoginAttempt.ip) or counted
MAX_ADDRESS_LENGTH = 45
#: longest wait for Redis to connect or answer: every counted request waits on it
REDIS_TIMEOUT_SECONDS = 0.5


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


# --- limits and the gates that count them ------------------------------------------------------


def per_seconds(count, seconds):
    """A rate in Flask-Limiter's notation: ``count`` events per ``seconds`` ("" when either
    is 0: no limit)."""
    if not count or not seconds or count <= 0 or seconds <= 0:
        return ""
    return f"{int(count)} per {int(seconds)} second"


def _setting(name):
    """The limit of a rate setting: a string of Flask-Limiter's notation ("10 per minute;
    100 per day"), empty or 0 for none."""

    def rate(config):
        value = str(config.get(name) or "").strip()
        return "" if value == "0" else value

    return rate


def _login(count_setting, minutes_setting):
    return lambda config: per_seconds(
        config.get(count_setting), config.get(minutes_setting, 0) * 60
    )


@dataclasses.dataclass(frozen=True)
class Rule:
    """One limit of a gate: at most ``rate(config)`` hits per ``key`` (the name of a key the
    caller of :func:`spend` passes), counted under ``scope``."""

    scope: str
    key: str
    rate: Callable[[dict], str]


#: every gate, by name: the limits one call of :func:`spend` counts
GATES = {
    "api": (
        Rule(
            "api",
            "client",
            lambda config: per_seconds(config["API_RATE_LIMIT"], config["API_RATE_LIMIT_SECONDS"]),
        ),
    ),
    # failed sign-ins of one client address, any accounts
    "login-client": (
        Rule(
            "login-client",
            "client",
            _login("LOGIN_THROTTLE_CLIENT_FAILURES", "LOGIN_THROTTLE_MINUTES"),
        ),
    ),
    # tries at one account within one run of failures (a success ends the run): from one client
    # address (slows a guesser, not the owner elsewhere), and from all of them (a ceiling)
    "login-account": (
        Rule("login-pair", "pair", _login("LOGIN_THROTTLE_FAILURES", "LOGIN_THROTTLE_MINUTES")),
        Rule(
            "login-account",
            "account",
            _login("LOGIN_THROTTLE_ACCOUNT_FAILURES", "LOGIN_THROTTLE_MINUTES"),
        ),
    ),
    # the accounts one client address fails to sign in to: spraying one password over many
    "login-spray": (
        Rule(
            "login-spray",
            "client",
            _login("LOGIN_THROTTLE_SPRAY_ACCOUNTS", "LOGIN_THROTTLE_SPRAY_MINUTES"),
        ),
    ),
    # a limit a caller sets itself (ClientLimit): rate and scope are passed with the keys
    "custom": (Rule("custom", "client", lambda config: _keys().get("rate", "")),),
}

#: what people post, limited per account and per client address (settings RATE_LIMIT_<KIND>_
#: PER_ACCOUNT and _PER_ADDRESS, crowdsource.config.CONTENT_RATE_LIMITS); registrations have
#: no account yet
CONTENT_KINDS = ("questions", "answers", "messages", "bids", "uploads", "registrations")

for _kind in CONTENT_KINDS:
    GATES[_kind] = tuple(
        Rule(f"{_kind}-{who}", key, _setting(f"RATE_LIMIT_{_kind.upper()}_PER_{who.upper()}"))
        for who, key in (("account", "account"), ("address", "client"))
        if _kind != "registrations" or who == "address"
    )


class Exhausted(Exception):
    """A gate's limit is used up: ``scope`` names the rule, ``retry_after`` the seconds until
    its window ends, ``limit`` the number of hits it allows."""

    def __init__(self, scope, retry_after, limit):
        super().__init__(f"{scope}: try again in {retry_after} s")
        self.scope, self.retry_after, self.limit = scope, retry_after, limit


@dataclasses.dataclass
class Spent:
    """The hits one :func:`spend` counted (Flask-Limiter's RequestLimits), to read or give
    back."""

    limits: list

    def remaining(self, scope):
        """Hits left in the window of ``scope`` after this one (None: no such limit)."""
        for limit in self.limits:
            if limit.request_args[-1] == scope:
                return _quietly(lambda limit=limit: limit.remaining, None)
        return None

    def first(self, scope):
        """Whether this hit was the first in the window of ``scope`` (True without a limit)."""
        for limit in self.limits:
            if limit.request_args[-1] == scope:
                return _quietly(lambda limit=limit: limit.remaining == limit.limit.amount - 1, True)
        return True

    def give_back(self):
        """Uncount these hits (an event that was not what the limit counts)."""
        for limit in self.limits:
            _quietly(
                lambda limit=limit: limit.limiter.hit(limit.limit, *limit.request_args, cost=-1)
            )
        self.limits = []


def _quietly(read, default=None):
    """``read()``, or ``default`` when the counting failed (logged: no request fails on it)."""
    try:
        return read()
    except Exception:
        log.warning("rate-limit counters: a read failed", exc_info=True)
        return default


def spend(gate, **keys):
    """Count one hit at ``gate`` for the ``keys`` its rules name (``client=``, ``account=``…)
    and return what was counted (:class:`Spent`). Raises :class:`Exhausted`, counting nothing,
    when a limit is used up."""
    app = current_app._get_current_object()
    state = app.extensions["throttle"]
    previous = g.get("throttle_keys")
    g.throttle_keys = keys
    try:
        state.gates[gate]()
    except RateLimitExceeded as error:
        breached = state.limiter.current_limit
        Spent(list(state.limiter.current_limits)).give_back()
        retry_after = _quietly(lambda: max(1, int(breached.reset_at - time.time())), 60)
        raise Exhausted(breached.request_args[-1], retry_after, breached.limit.amount) from error
    finally:
        g.throttle_keys = previous
    return Spent(list(state.limiter.current_limits))


def _keys():
    """The keys of the hit being counted (Flask-Limiter also reads limits between hits)."""
    return g.get("throttle_keys") or {}


def _gate_function(name):
    """A function of its own for each gate: Flask-Limiter keeps limits by function name."""

    def gate():
        return None

    gate.__name__ = gate.__qualname__ = "gate_" + name.replace("-", "_")
    return gate


def _rule_limit(limiter, rule, gate):
    def rate():
        return rule.rate(current_app.config)

    def key():
        return _keys().get(rule.key, "")

    def scope(_endpoint):
        return _keys().get("scope", rule.scope) if rule.scope == "custom" else rule.scope

    return limiter.shared_limit(rate, scope=scope, key_func=key)(gate)


@dataclasses.dataclass
class Throttle:
    """The app's Limiter and its gates (``app.extensions["throttle"]``)."""

    limiter: Limiter
    gates: dict


def storage_uri(config):
    """Where the counters live: ``RATELIMIT_STORAGE_URI``, else ``REDIS_URL``, else memory."""
    return config.get("RATELIMIT_STORAGE_URI") or config.get("REDIS_URL") or "memory://"


def init_app(app):
    """Give ``app`` a Limiter of its own, on the storage of :func:`storage_uri`, and its
    gates."""
    uri = storage_uri(app.config)
    options = {}
    if uri.startswith(("redis://", "rediss://", "unix://")):
        options = {
            # a site's own counters: two sites on one Redis (named by RQ_QUEUE, like their
            # queues) never count each other's requests
            "key_prefix": app.config.get("RATELIMIT_KEY_PREFIX")
            or f"{app.config.get('RQ_QUEUE') or 'crowdsource'}:ratelimit",
            "wrap_exceptions": True,
            "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            "socket_timeout": REDIS_TIMEOUT_SECONDS,
        }
    limiter = Limiter(
        client_address,
        storage_uri=uri,
        storage_options=options,
        strategy="fixed-window",
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=False,
        # every call counts, also one outside a routed request (a test, a command)
        request_identifier=lambda: request.endpoint or "crowdsource",
    )
    limiter.init_app(app)
    gates = {}
    for name, rules in GATES.items():
        function = _gate_function(name)
        for rule in rules:
            function = _rule_limit(limiter, rule, function)
        gates[name] = function
    app.extensions["throttle"] = Throttle(limiter, gates)


def reset(app):
    """Forget every count (the tests, between one test and the next)."""
    app.extensions["throttle"].limiter.storage.reset()


def _content_refusals():
    """What a person is told when posting ``kind`` faster than its limits allow."""
    return {
        "questions": _l("You have asked many questions in a short time."),
        "answers": _l("You have answered many questions in a short time."),
        "messages": _l("You have sent many messages in a short time."),
        "bids": _l("You have placed many bids in a short time."),
        "uploads": _l("You have uploaded many files in a short time."),
        "registrations": _l("Many accounts have been created from your address in a short time."),
    }


def limit_content(kind, user=None):
    """Count one post of ``kind`` (one of CONTENT_KINDS) by ``user`` (None: nobody signed in)
    from this client address. Raises TooManyAttempts (429) past a limit, counting nothing: the
    view shows the form again as typed, with the message and when to try again."""
    keys = {"client": client_address()}
    if user is not None and getattr(user, "is_authenticated", False):
        keys["account"] = str(user.id)
    else:
        keys["account"] = "anonymous:" + keys["client"]
    try:
        spend(kind, **keys)
    except Exhausted as refusal:
        wait = format_timedelta(
            dt.timedelta(seconds=refusal.retry_after), threshold=1.1, add_direction=False
        )
        message = _l(
            "%(what)s Please try again in %(wait)s; what you wrote is kept below.",
            what=_content_refusals()[kind],
            wait=wait,
        )
        raise TooManyAttempts(message, retry_after=refusal.retry_after) from None


class ClientLimit:
    """At most ``limit`` events of one ``kind`` from one client in each window of ``seconds``
    (``limit`` 0: no limit). The event is counted when it is asked for: a client that was told
    it may go on has its event counted already, so concurrent requests get no extra events."""

    def __init__(self, app, kind, client, limit, seconds):
        self.keys = {"client": client, "scope": kind, "rate": per_seconds(limit, seconds)}
        self.spent = None

    def seconds_to_wait(self):
        """0 while the client has events left in this window (and counts one), else the seconds
        until it ends."""
        if self.spent is not None or not self.keys["rate"]:
            return 0
        try:
            self.spent = spend("custom", **self.keys)
        except Exhausted as refusal:
            return refusal.retry_after
        return 0

    def count(self):
        """Count one event of this client (unless :meth:`seconds_to_wait` did)."""
        if self.spent is None and self.keys["rate"]:
            with contextlib.suppress(Exhausted):  # counted up to the limit, refused past it
                self.spent = spend("custom", **self.keys)
