"""Tables of figures: columns with a kind (count, money, change, …), rows as dicts; and how a
cell is shown on a page, written to CSV and given out as JSON.

A row's values are raw: counts and fen as ints, changes and shares as fractions, None for a
figure that is not shown (suppressed, or nothing to compute it from). The same rows feed the
page, the CSV download and the API, so the three always agree.
"""

import csv
import dataclasses
import io

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from crowdsource.money import fen_to_yuan_text
from crowdsource.stats import formats
from crowdsource.tasks.models import ContractType

#: shown for a figure that is not published or cannot be computed
MISSING = "—"


@dataclasses.dataclass
class Column:
    key: str
    label: object
    #: text, year, month, type, center, count, money, change, share, days, ratio
    kind: str = "text"

    @property
    def numeric(self):
        return self.kind not in ("text", "year", "month", "type", "center")

    @property
    def csv_header(self):
        if self.kind == "money" and self.key.endswith("_fen"):
            return self.key[: -len("_fen")] + "_yuan"
        return self.key


@dataclasses.dataclass
class Table:
    #: a slug: the anchor on the page and the CSV file's name
    name: str
    title: object
    columns: list
    rows: list
    note: object = None
    #: a charts.Chart of the same numbers, shown beside the table
    chart: object = None

    def column(self, key):
        return next(column for column in self.columns if column.key == key)


def _center_name(row):
    locale = get_locale()
    if locale is not None and locale.language == "zh":
        return row.get("center_name_zh") or row.get("center")
    return row.get("center_name_en") or row.get("center")


def display(column, row):
    """The text of a cell on a page, in the reader's language."""
    value = row.get(column.key)
    if column.kind == "center":
        return _center_name(row)
    if value is None:
        return MISSING
    if column.kind == "type":
        return ContractType(value).label if value in ContractType._value2member_map_ else value
    if column.kind == "count":
        return formats.count(value)
    if column.kind == "money":
        return formats.money(value)
    if column.kind == "change":
        return formats.percent(value, signed=True)
    if column.kind == "share":
        return formats.percent(value)
    if column.kind in ("days", "ratio"):
        return formats.decimal(value)
    return str(value)


def csv_value(column, row):
    """The text of a cell in a CSV file: machine-readable (yuan with two decimals, fractions
    with four), empty when not shown."""
    value = row.get(column.key)
    if value is None:
        return ""
    if column.kind == "money":
        return fen_to_yuan_text(value) if value >= 0 else "-" + fen_to_yuan_text(-value)
    if column.kind in ("change", "share"):
        return f"{value:.4f}"
    if column.kind in ("days", "ratio"):
        return f"{value:.2f}"
    return str(value)


def to_csv(table):
    """The table as CSV text (UTF-8 with a byte order mark, so that spreadsheet programs show
    Chinese correctly). A center column is followed by the center's name."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    header = []
    for column in table.columns:
        header.append(column.csv_header)
        if column.kind == "center":
            header.append("center_name")
    reasons = any("suppressed_by" in row for row in table.rows)
    if reasons:
        header.append("suppressed_by")
    writer.writerow(header)
    for row in table.rows:
        line = []
        for column in table.columns:
            line.append(row.get("center") if column.kind == "center" else csv_value(column, row))
            if column.kind == "center":
                line.append(_center_name(row))
        if reasons:
            line.append(row.get("suppressed_by") or "")
        writer.writerow(line)
    return buffer.getvalue()


def to_items(table, extra=()):
    """The rows as JSON objects: the columns' raw values, plus the ``extra`` keys."""
    keys = [column.key for column in table.columns] + list(extra)
    return [{key: row.get(key) for key in keys} for row in table.rows]


def not_shown_note(rules):
    """What the marks of hidden contract figures mean, with the rules' parameters."""
    return _l(
        "— means not shown. T: fewer than %(k)s different enterprises or %(k)s different "
        "payees. D: one party holds nearly all of the value (another could estimate its share "
        "within %(p)s %%). C: hidden as well, so that no hidden figure can be worked out from "
        "the others, even by a party who knows its own contracts.",
        k=rules.min_contributors,
        p=rules.dominance_percent,
    )


def tasks_not_shown_note(rules):
    """What the marks of hidden task figures mean."""
    return _l(
        "— means not shown. T: fewer than %(k)s different enterprises posted the tasks (or "
        "fewer than %(k)s different bidders made the bids). C: hidden as well, so that it "
        "cannot be worked out from the totals.",
        k=rules.min_contributors,
    )


#: why a figure is not shown: the mark beside the dash, and what it means
REASON_MARKS = {
    "threshold": (_l("T"), _l("Too few different parties")),
    "dominance": (_l("D"), _l("One party holds nearly all of the value")),
    "complementary": (_l("C"), _l("Hidden so that other hidden figures cannot be worked out")),
}


def reason_mark(column, row):
    """(mark, meaning) of the rule that hid this figure, or None when it is shown."""
    reason = row.get("suppressed_by")
    if (
        not reason
        or not column.numeric
        or column.kind == "change"
        or row.get(column.key) is not None
    ):
        return None
    return REASON_MARKS.get(reason)
