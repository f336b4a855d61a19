"""Number formats of the statistics pages, in the reader's language: short forms for chart
axes (¥1.2M in English, ¥120万 in Chinese) and the full figures of the tables.

A dashboard shows thousands of figures. For the two languages the site speaks (Chinese and
English group digits by three with "," and use "." for decimals) they are formatted here
directly, several times faster than through Babel; any other locale goes through Babel.
"""

from babel.numbers import format_compact_decimal
from flask_babel import format_decimal, get_locale

from crowdsource.money import format_money

FAST_LANGUAGES = {"zh", "en"}


def _locale():
    return get_locale() or "en"


def _fast():
    locale = get_locale()
    return locale is None or locale.language in FAST_LANGUAGES


def compact_money(fen):
    """An amount in yuan, rounded to a short form for an axis."""
    yuan = (fen or 0) / 100
    return "¥" + format_compact_decimal(yuan, locale=_locale(), fraction_digits=1)


def money(fen):
    """¥1,234.56, as crowdsource.money.format_money shows it."""
    if not _fast():
        return format_money(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


def count(value):
    return f"{value:,}" if _fast() else format_decimal(value, format="#,##0")


def plain_count(value):
    """A count for an axis (ticks may fall between whole numbers: rounded)."""
    return count(round(value or 0))


def decimal(value):
    """A number with one or two decimals: 12.5, 2.35, 1,234.0."""
    if not _fast():
        return format_decimal(value, format="#,##0.0#")
    text = f"{value:,.2f}"
    return text[:-1] if text.endswith("0") else text


def percent(fraction, signed=False):
    """0.125 → 12.5% (+12.5% / −3.0% when ``signed``)."""
    text = decimal_one(abs(fraction) * 100 if signed else fraction * 100)
    if signed:
        return f"{'+' if fraction >= 0 else '−'}{text}%"
    return f"{text}%"


def decimal_one(value):
    if not _fast():
        return format_decimal(value, format="#,##0.0")
    return f"{value:,.1f}"
