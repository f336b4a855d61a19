"""The resident identity card number (公民身份号码) of GB 11643-1999.

Eighteen characters: a six-digit administrative division code, the birth date (YYYYMMDD), a
three-digit sequence number and a check character computed over the first seventeen by ISO 7064
MOD 11-2 (a digit, or X for ten).

The number itself is never stored: the platform keeps a keyed hash of it (HMAC-SHA-256 with the
app's SECRET_KEY, see :func:`fingerprint`), to find a number given twice, and its last four
characters, the only part ever shown again.
"""

import datetime as dt
import hashlib
import hmac
import unicodedata
from zoneinfo import ZoneInfo

LENGTH = 18
#: weight of each of the first seventeen digits: 2^(17 - position) mod 11
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: the check character by the weighted sum mod 11
CHECK_CHARACTERS = "10X98765432"
#: the oldest birth year taken (the number has existed since 1999; nobody born before is alive)
EARLIEST_YEAR = 1890
#: the numbers' time zone: a birth date is in the future when it is after today in China
CHINA = ZoneInfo("Asia/Shanghai")


def normalize(number):
    """The number as it is checked: full-width characters made plain (NFKC), spaces removed,
    a lowercase x made uppercase."""
    text = unicodedata.normalize("NFKC", number or "")
    return "".join(text.split()).upper()


def check_character(first_seventeen):
    """The check character of the first seventeen digits of a number."""
    total = sum(int(digit) * weight for digit, weight in zip(first_seventeen, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def birth_date(number):
    """The birth date a (normalized) number states, or None if it is no real date."""
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def problem(number, today):
    """Why ``number`` (already normalized) is not a valid resident ID number, or None if it is:
    "length", "characters", "birth_date" (no real date, before EARLIEST_YEAR or after
    ``today``) or "check"."""
    if len(number) != LENGTH:
        return "length"
    if not number[:17].isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
        return "characters"
    born = birth_date(number)
    if born is None or born.year < EARLIEST_YEAR or born > today:
        return "birth_date"
    if check_character(number[:17]) != number[17]:
        return "check"
    return None


def last_four(number):
    """The only part of a number ever shown again."""
    return number[-4:]


def fingerprint(number, key):
    """A keyed hash (HMAC-SHA-256, hex) of a normalized number: equal numbers give equal
    fingerprints, and without ``key`` (the app's SECRET_KEY) nobody can test guesses against
    it (the numbers are few enough to try them all)."""
    secret = key.encode() if isinstance(key, str) else key
    return hmac.new(secret, b"resident-id\0" + number.encode(), hashlib.sha256).hexdigest()
