"""Where a client address is, roughly: the country, from the database that ships with
geoip2fast (no lookup leaves the machine), named in the reader's language."""

import functools
import ipaddress

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from geoip2fast import GeoIP2Fast


@functools.cache
def _database():
    return GeoIP2Fast()


def country_code(ip):
    """The ISO 3166 code of the country of ``ip``, "" when unknown, None for an address of
    a private or local network."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ""
    if address.is_private or address.is_loopback or address.is_link_local:
        return None
    found = _database().lookup(str(address))
    code = getattr(found, "country_code", "") or ""
    return code if len(code) == 2 and code.isalpha() else ""


def place(ip):
    """The place of ``ip`` for people: a country's name, "local network", or "" unknown."""
    code = country_code(ip)
    if code is None:
        return str(_l("local network"))
    if not code:
        return ""
    locale = get_locale()
    names = locale.territories if locale is not None else {}
    return names.get(code.upper(), code.upper())
