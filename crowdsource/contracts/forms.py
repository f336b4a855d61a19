"""Forms of the contracts package."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, TextAreaField

from crowdsource.forms import max_length, required


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), [required(), max_length(10_000)])
    files = MultipleFileField(_l("Files"))
