"""Forms of the operator console."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from crowdsource.forms import max_length, required_text
from crowdsource.tasks.forms import NOT_AN_OPTION


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it changes nothing

    q = StringField(
        _l("Name, email or credit code"),
        [Optional(), max_length(200)],
        render_kw={"type": "search"},
    )


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), [required_text(), max_length(2000)])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    actor = StringField(_l("Who (name or email)"), [Optional(), max_length(200)])
    subject = SelectField(
        _l("What"), [Optional()], choices=[], default="", invalid_choice_message=NOT_AN_OPTION
    )
    action = SelectField(
        _l("Action"), [Optional()], choices=[], default="", invalid_choice_message=NOT_AN_OPTION
    )
    since = DateField(_l("From"), [Optional()], render_kw={"type": "date"})
    until = DateField(_l("To"), [Optional()], render_kw={"type": "date"})

    def __init__(self, subjects, actions, *args, **kwargs):
        super().__init__(*args, **kwargs)
        anything = ("", _l("— any —"))
        self.subject.choices = [anything, *((s, s) for s in subjects)]
        self.action.choices = [anything, *((a, a) for a in actions)]
