"""Query parameters of the open-data API, declared once: the same declarations check a
request's parameters (a 400 with a message for anything wrong) and describe them in the
OpenAPI document.
"""

import dataclasses
import re

from flask_babel import lazy_gettext as _l

from crowdsource.errors import DomainError
from crowdsource.stats.periods import FIRST_YEAR, LAST_YEAR
from crowdsource.tasks.models import ContractType

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_PER_PAGE = 100


class BadParameter(DomainError):
    """A query parameter the API cannot use; the message names it and says why."""

    status_code = 400


@dataclasses.dataclass
class Param:
    name: str
    description: str
    #: JSON schema of the value (for the OpenAPI document)
    schema: dict
    default: object = None

    def parse(self, text):
        """The value of ``text``; raises BadParameter."""
        kind = self.schema.get("type")
        if kind == "integer":
            return self._integer(text)
        if "enum" in self.schema and text not in self.schema["enum"]:
            raise BadParameter(
                _l(
                    "%(name)s must be one of: %(values)s.",
                    name=self.name,
                    values=", ".join(self.schema["enum"]),
                )
            )
        if any(ord(character) < 32 or ord(character) == 127 for character in text):
            raise BadParameter(_l("%(name)s contains control characters.", name=self.name))
        if len(text) < self.schema.get("minLength", 0):
            raise BadParameter(_l("%(name)s must not be empty.", name=self.name))
        if len(text) > self.schema.get("maxLength", 200):
            raise BadParameter(
                _l(
                    "%(name)s is too long (at most %(n)d characters).",
                    name=self.name,
                    n=self.schema.get("maxLength", 200),
                )
            )
        if "pattern" in self.schema and not re.match(self.schema["pattern"], text):
            raise BadParameter(
                _l(
                    "%(name)s must look like %(example)s.",
                    name=self.name,
                    example=self.schema.get("example", ""),
                )
            )
        return text

    def _integer(self, text):
        if not re.fullmatch(r"[+-]?\d{1,12}", text.strip()):
            raise BadParameter(_l("%(name)s must be a whole number.", name=self.name))
        value = int(text)
        low, high = self.schema.get("minimum"), self.schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            raise BadParameter(
                _l(
                    "%(name)s must be between %(low)d and %(high)d.",
                    name=self.name,
                    low=low,
                    high=high,
                )
            )
        return value


def integer(name, description, minimum, maximum, default=None):
    schema = {"type": "integer", "minimum": minimum, "maximum": maximum}
    if default is not None:
        schema["default"] = default
    return Param(name, description, schema, default)


def choice(name, description, values):
    return Param(name, description, {"type": "string", "enum": list(values)})


def text(name, description, max_length):
    schema = {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        # no control characters (they have no place in a search, and databases refuse NUL)
        "pattern": "^[^\\u0000-\\u001f\\u007f]+$",
    }
    return Param(name, description, schema)


def month(name, description):
    pattern = r"^\d{4}-(0[1-9]|1[0-2])$"
    return Param(name, description, {"type": "string", "pattern": pattern, "example": "2025-07"})


PAGE = integer("page", _l("Page number, from 1."), 1, 10_000, default=1)
PER_PAGE = integer("per_page", _l("Items per page."), 1, MAX_PER_PAGE, default=20)
YEAR_FROM = integer("year_from", _l("First year (inclusive)."), FIRST_YEAR, LAST_YEAR)
YEAR_TO = integer("year_to", _l("Last year (inclusive)."), FIRST_YEAR, LAST_YEAR)
MONTH_FROM = month("month_from", _l("First month (inclusive), YYYY-MM."))
MONTH_TO = month("month_to", _l("Last month (inclusive), YYYY-MM."))
CONTRACT_TYPE = choice(
    "contract_type",
    _l("One of the four technology-contract types."),
    [t.value for t in ContractType],
)


def parse(args, declared):
    """The values of the query parameters ``args`` (a MultiDict) by name, defaults filled in.

    Raises BadParameter for a parameter not declared, given twice or not valid, and for a
    range whose start is after its end.
    """
    known = {param.name: param for param in declared}
    for name in args:
        if name not in known:
            raise BadParameter(_l("Unknown parameter: %(name)s.", name=name))
    values = {}
    for name, param in known.items():
        given = args.getlist(name)
        if len(given) > 1:
            raise BadParameter(_l("Give %(name)s only once.", name=name))
        values[name] = param.parse(given[0]) if given else param.default
    for first, last in (("year_from", "year_to"), ("month_from", "month_to")):
        start, end = values.get(first), values.get(last)
        if start is not None and end is not None and start > end:
            raise BadParameter(_l("%(first)s must not be after %(last)s.", first=first, last=last))
    return values


def openapi_parameters(declared):
    """The OpenAPI ``parameters`` of the declared query parameters."""
    return [
        {
            "name": param.name,
            "in": "query",
            "required": False,
            "description": str(param.description),
            "schema": param.schema,
        }
        for param in declared
    ]
