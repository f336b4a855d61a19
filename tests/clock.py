"""The tests' one clock: the date the suite runs at, and the ``clock`` fixture that moves it.

``TEST_NOW`` (ISO 8601 with a UTC offset or a zone: ``2026-12-31T23:59:00+08:00``,
``2027-01-01T00:01:00Z``, ``2028-02-29T12:00:00[Asia/Shanghai]``) runs the whole process at
that moment, time ticking on from there, through `time-machine`_: ``datetime.now()``,
``time.time()`` and everything built on them (``crowdsource.db.utcnow()``, SQLAlchemy defaults
computed in Python, cookie and token expiry) agree on it. Unset, the real time is used.

- :func:`travel_from_env` starts that travel. This plugin calls it when pytest configures
  itself (in the controller and in every xdist worker); the entry of any subprocess a test
  starts (an RQ worker, an app server) calls it first thing, so that the subprocess shares the
  date: ``import tests.clock; tests.clock.travel_from_env()``. The environment is inherited, so
  nothing else needs passing; :meth:`Clock.environ` gives the environment of a subprocess that
  should start at the moment a test has moved its clock to. Every test starts at TEST_NOW
  (the clock is put back there before each), so its subprocesses agree with it.
- The ``clock`` fixture is how a test reads and moves "now": ``clock.now()``,
  ``clock.move_to(...)``, ``clock.advance(days=1)``, ``clock.freeze()``. Code under test keeps
  asking ``utcnow()``; the test moves the clock instead of handing the code a ``now=``.

The browser (Chromium) is another process and keeps the real time.

.. _time-machine: https://pypi.org/project/time-machine/
"""

import datetime as dt
import os
import re
import zoneinfo

import pytest
import time_machine

ENV = "TEST_NOW"

#: the process-wide travel started from TEST_NOW, and its traveller, if any
_process_travel = None
_process_traveller = None

_BRACKETED_ZONE = re.compile(r"^(?P<moment>[^\[\]]+)\[(?P<zone>[^\[\]]+)\]$")


def parse_moment(text):
    """An aware datetime from ISO 8601 text with an offset (``+08:00``, ``Z``) or a zone in
    brackets (``[Asia/Shanghai]``); raises ValueError for anything else, a naive time
    included (it would mean a different moment on every machine)."""
    text = text.strip()
    bracketed = _BRACKETED_ZONE.match(text)
    try:
        if bracketed:
            zone = zoneinfo.ZoneInfo(bracketed["zone"])
            moment = dt.datetime.fromisoformat(bracketed["moment"])
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
        else:
            moment = dt.datetime.fromisoformat(text)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as error:
        raise ValueError(f"{ENV}={text!r} is not an ISO 8601 time: {error}") from None
    if moment.tzinfo is None:
        raise ValueError(
            f"{ENV}={text!r} has no UTC offset or zone: write e.g. 2026-12-31T23:59:00+08:00"
        )
    return moment.astimezone(dt.UTC)


def suite_now():
    """The moment TEST_NOW names (aware, UTC), or None when it is unset."""
    text = os.environ.get(ENV, "").strip()
    return parse_moment(text) if text else None


def travel_from_env():
    """Run this process at TEST_NOW from now on, time ticking (a no-op when it is unset or
    the process already travels there). Returns the moment travelled to, or None."""
    global _process_travel, _process_traveller
    destination = suite_now()
    if destination is None or _process_travel is not None:
        return destination
    # A timestamp, not a datetime: time-machine would otherwise set TZ for the process (and
    # its subprocesses) to the destination's zone.
    _process_travel = time_machine.travel(destination.timestamp(), tick=True)
    _process_traveller = _process_travel.start()
    return destination


def start_at_test_now():
    """With TEST_NOW, go back to that moment (time ticking on): what is built next is built
    then, however long the session has run."""
    destination = suite_now() if _process_traveller is not None else None
    if destination is not None:
        _process_traveller.move_to(destination.timestamp())


@pytest.fixture(autouse=True)
def _each_test_starts_at_test_now():
    """With TEST_NOW, every test starts at that moment, not minutes later when the session
    reaches it: a test of the last minute of a year runs in that minute, and the processes it
    starts (which travel to TEST_NOW when they start) agree with it to within seconds."""
    start_at_test_now()
    yield


_DESTINATION = pytest.StashKey()


def pytest_configure(config):
    destination = travel_from_env()
    if destination is not None:
        config.stash[_DESTINATION] = destination


def pytest_report_header(config):
    destination = config.stash.get(_DESTINATION, None)
    if destination is not None:
        return f"{ENV}: the suite runs at {destination.isoformat()} (time ticking from there)"
    return None


def _utc(moment):
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use an aware one")
    return moment.astimezone(dt.UTC)


class Clock:
    """The test's "now": read it, move it, freeze it. Every thread of the test process sees
    the same clock (it patches the process, not a module)."""

    def __init__(self, traveller):
        self._traveller = traveller

    def now(self):
        """The current moment, aware, in UTC (what ``utcnow()`` gives the code under test)."""
        return dt.datetime.now(dt.UTC)

    def local_now(self, zone="Asia/Shanghai"):
        """The current moment in ``zone`` (the platform's zone by default)."""
        return self.now().astimezone(zoneinfo.ZoneInfo(zone))

    def move_to(self, destination, tick=None):
        """Jump to ``destination`` (an aware datetime, or ISO text as TEST_NOW takes it).
        ``tick``: True lets time run on from there, False freezes it, None keeps the mode."""
        if isinstance(destination, str):
            destination = parse_moment(destination)
        self._traveller.move_to(_utc(destination).timestamp(), tick=tick)
        return self.now()

    def advance(self, delta=None, **units):
        """Move forward by ``delta`` (a timedelta) or by ``days=``, ``hours=``, … ; returns the
        new now."""
        delta = (delta or dt.timedelta()) + dt.timedelta(**units)
        self._traveller.shift(delta)
        return self.now()

    def freeze(self):
        """Stop time where it is (until the next move with ``tick=True``)."""
        return self.move_to(self.now(), tick=False)

    def environ(self, base=None):
        """Environment for a subprocess that should start at this clock's current moment
        (its entry calls :func:`travel_from_env`)."""
        environment = dict(os.environ if base is None else base)
        environment[ENV] = self.now().isoformat()
        return environment


@pytest.fixture
def clock(_each_test_starts_at_test_now):
    """The test's clock, starting at the suite's now (TEST_NOW or the real time) and ticking;
    put back when the test ends."""
    travel = time_machine.travel(dt.datetime.now(dt.UTC).timestamp(), tick=True)
    traveller = travel.start()
    try:
        yield Clock(traveller)
    finally:
        travel.stop()
