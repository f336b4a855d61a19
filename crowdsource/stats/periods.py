"""Months and years of the statistics, cut in the platform's time zone.

Every reader sees the same months (those of ``BABEL_DEFAULT_TIMEZONE``, Asia/Shanghai by
default), whatever their own time zone: figures are comparable between readers, and public
cells cannot be cut differently for different readers (see disclosure.py).
"""

import datetime as dt
import zoneinfo

import sqlalchemy as sa
from flask import current_app

from crowdsource.db import db, utcnow

#: years the statistics accept as filters
FIRST_YEAR = 2000
LAST_YEAR = 2100


def zone():
    return zoneinfo.ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def month_start(year, month):
    """The instant (UTC) the month begins in the platform's time zone."""
    while month > 12:
        year, month = year + 1, month - 12
    while month < 1:
        year, month = year - 1, month + 12
    return dt.datetime(year, month, 1, tzinfo=zone()).astimezone(dt.UTC)


def year_start(year):
    return month_start(year, 1)


def local_now():
    return utcnow().astimezone(zone())


def current_year():
    return local_now().year


def current_month():
    """``"YYYY-MM"`` of the month now running."""
    return local_now().strftime("%Y-%m")


def current_month_start():
    """The start (UTC) of the month now running: public figures cover the months before it."""
    now = local_now()
    return month_start(now.year, now.month)


def month_key(instant):
    """``"YYYY-MM"`` of an aware datetime in the platform's time zone."""
    return instant.astimezone(zone()).strftime("%Y-%m")


def months_between(first, last):
    """Every ``"YYYY-MM"`` from ``first`` to ``last`` inclusive."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _sqlite_offset():
    """The zone's UTC offset as an SQLite date modifier. SQLite knows no time zones: the
    offset in force now is used, which is exact for zones without daylight saving time
    (Asia/Shanghai); PostgreSQL converts with the real zone rules."""
    offset = local_now().utcoffset() or dt.timedelta()
    return f"{int(offset.total_seconds() // 60):+d} minutes"


def month_of(column):
    """SQL: ``"YYYY-MM"`` of a UTC timestamp column in the platform's time zone."""
    if db.engine.dialect.name == "postgresql":
        name = current_app.config["BABEL_DEFAULT_TIMEZONE"]
        return sa.func.to_char(sa.func.timezone(name, column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column, _sqlite_offset())


def seconds_between(start_column, end_column):
    """SQL: seconds from one timestamp column to another."""
    if db.engine.dialect.name == "postgresql":
        return sa.extract("epoch", end_column - start_column)
    return (sa.func.julianday(end_column) - sa.func.julianday(start_column)) * 86400
