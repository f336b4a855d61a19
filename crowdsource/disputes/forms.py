"""Forms of the disputes package."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, MultipleFileField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from crowdsource.contracts.models import Side
from crowdsource.forms import YuanField, max_length, required
from crowdsource.money import MoneyError, parse_yuan


class AmountField(YuanField):
    """An amount in yuan where zero is a valid answer (all to the other party)."""

    def pre_validate(self, form):
        self.fen = None
        if not (self.data or "").strip():
            return
        try:
            self.fen = parse_yuan(self.data, allow_zero=True)
        except MoneyError as error:
            raise ValidationError(str(error)) from None


class OpenDisputeForm(FlaskForm):
    reason = TextAreaField(
        _l("What is the dispute about?"),
        [required(), max_length(10_000)],
        description=_l("State what was agreed, what happened, and what you ask for."),
    )
    files = MultipleFileField(_l("Evidence (files)"))


class PostForm(FlaskForm):
    body = TextAreaField(_l("Message"), [required(), max_length(10_000)])
    files = MultipleFileField(_l("Files"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), [required(), max_length(10_000)])


class InfoRequestForm(FlaskForm):
    side = RadioField(
        _l("Ask"),
        choices=[
            SelectChoice(Side.CLIENT.value, _l("the enterprise")),
            SelectChoice(Side.SOLVER.value, _l("the solver's side")),
        ],
        validators=[required()],
    )
    body = TextAreaField(_l("Information needed"), [required(), max_length(10_000)])


class RulingForm(FlaskForm):
    release = AmountField(_l("Release to the payee (yuan)"), [required()])
    refund = AmountField(_l("Refund to the enterprise (yuan)"), [required()])
    reason = TextAreaField(_l("Reasons for the ruling"), [required(), max_length(10_000)])


class AppealRulingForm(FlaskForm):
    uphold = BooleanField(_l("Uphold the first ruling"))
    release = AmountField(_l("Release to the payee (yuan)"))
    refund = AmountField(_l("Refund to the enterprise (yuan)"))
    reason = TextAreaField(_l("Reasons for the ruling"), [required(), max_length(10_000)])
