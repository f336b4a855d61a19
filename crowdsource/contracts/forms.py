"""Forms of the contracts package."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, TextAreaField

from crowdsource.forms import max_length, required


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), [required(), max_length(10_000)])
    files = MultipleFileField(_l("Files"))


class DeliveryForm(FlaskForm):
    note = TextAreaField(
        _l("What you deliver"),
        [required(), max_length(5000)],
        description=_l("Describe the result and where the enterprise finds it."),
    )
    files = MultipleFileField(_l("Files"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), [required(), max_length(2000)])
