"""Form pieces shared by the packages: required-field messages, money and choice helpers."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField, ValidationError
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from crowdsource.money import MoneyError, parse_percent_bps, parse_yuan

#: what a choice says of a value that is none of its options (typed into the address)
NOT_AN_OPTION = _l("This is not one of the options. Choose one from the list.")


def required():
    return InputRequired(message=_l("This field is required."))


def required_text():
    """Like required(), but text of spaces only counts as missing too."""
    return DataRequired(message=_l("This field is required."))


def max_length(count):
    return Length(max=count, message=_l("Use at most %(max)d characters.", max=count))


def choices(labels):
    """Select options from a mapping of enum member (or value) to label."""
    return [SelectChoice(str(value), label) for value, label in labels.items()]


def enum_choices(enum_class):
    return [SelectChoice(str(member), member.label) for member in enum_class]


class YuanField(StringField):
    """An amount typed in yuan; ``fen`` holds the parsed integer amount after validation."""

    fen = None

    def pre_validate(self, form):
        self.fen = None
        if not (self.data or "").strip():
            return  # InputRequired/Optional decide whether an empty field is acceptable
        try:
            self.fen = parse_yuan(self.data)
        except MoneyError as error:
            raise ValidationError(str(error)) from None


class PercentField(StringField):
    """A percentage; ``bps`` holds it in basis points after validation (empty means 0)."""

    bps = 0

    def pre_validate(self, form):
        try:
            self.bps = parse_percent_bps(self.data)
        except MoneyError as error:
            raise ValidationError(str(error)) from None
