"""Forms of the bids package: a bid with its milestones; rejecting with a reason."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import NumberRange, Optional, StopValidation

from crowdsource.forms import PercentField, YuanField, max_length, required, required_text
from crowdsource.money import format_bps, format_money

MILESTONE_ROWS = 3
MAX_MILESTONES = 12


class InFilledRow:
    """A milestone row left entirely empty is ignored; in a filled row the field is required.

    (``Optional()`` would stop at an empty field before the row is looked at, letting a
    milestone without an amount or a date through.)
    """

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if form.is_blank():
            field.errors[:] = []
            raise StopValidation()
        if not (field.raw_data and str(field.raw_data[0]).strip()):
            field.errors[:] = []
            raise StopValidation(self.message)


class MilestoneForm(Form):
    """One proposed milestone; a row left entirely empty is ignored."""

    title = StringField(_l("Milestone"), [InFilledRow(_l("Name the milestone.")), max_length(200)])
    amount = YuanField(_l("Amount (yuan)"), [InFilledRow(_l("Enter an amount."))])
    due_date = DateField(_l("Due date"), [InFilledRow(_l("Enter a due date."))])

    def is_blank(self):
        return not any((field.raw_data or [""])[0].strip() for field in self) and not any(
            field.data for field in self
        )


class BidForm(FlaskForm):
    bid_as = SelectField(_l("Bid as"), choices=[])
    payee_organization_id = SelectField(
        _l("Payee institution"),
        choices=[],
        description=_l(
            "Agencies only: the university or research institute to be paid. "
            "Leave empty to be paid as the agency."
        ),
    )
    brokerage = PercentField(
        _l("Agency brokerage (转化佣金), %"),
        [Optional(), max_length(8)],
        description=_l(
            "Deducted from each released amount for the agency, when it bids for an institution."
        ),
    )
    price = YuanField(_l("Price (yuan)"), [required()])
    duration_days = IntegerField(
        _l("Duration (days)"),
        [required(), NumberRange(min=1, max=3650, message=_l("Between 1 and 3650 days."))],
    )
    proposal = TextAreaField(
        _l("Proposal"),
        [required(), max_length(20000)],
        description=_l(
            "Your approach, team and references. Markdown. Never shown to other bidders."
        ),
    )
    milestones = FieldList(
        FormField(MilestoneForm), min_entries=MILESTONE_ROWS, max_entries=MAX_MILESTONES
    )

    def filled_milestones(self):
        return [row.form for row in self.milestones if not row.form.is_blank()]

    def validate_milestones(self, field):
        filled = self.filled_milestones()
        if not filled:
            raise ValidationError(_l("Propose at least one milestone."))
        if self.price.fen and all(row.amount.fen for row in filled):
            total = sum(row.amount.fen for row in filled)
            if total != self.price.fen:
                raise ValidationError(
                    _l(
                        "The milestones add up to %(total)s, not the price %(price)s.",
                        total=format_money(total),
                        price=format_money(self.price.fen),
                    )
                )

    def validate_payee_organization_id(self, field):
        if field.data and not self.bid_as.data:
            raise ValidationError(_l("Only an agency can bid for a payee institution."))

    #: the highest brokerage the task's commission policy allows (set by the view)
    brokerage_cap = None

    def validate_brokerage(self, field):
        cap = self.brokerage_cap
        if cap is None:
            cap = current_app.config["MAX_BROKERAGE_BPS"]
        if field.bps > cap:
            raise ValidationError(
                _l("The brokerage rate may be at most %(cap)s.", cap=format_bps(cap))
            )
        if field.bps and not self.payee_organization_id.data:
            raise ValidationError(_l("A brokerage rate needs a payee institution."))


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (optional)"),
        [Optional(), max_length(2000)],
        description=_l("The bidder is told this reason."),
    )


class OfferAnswerForm(FlaskForm):
    """Declining an offer, or withdrawing one: the reason the other side is told."""

    reason = TextAreaField(
        _l("Reason"),
        [required_text(), max_length(2000)],
        description=_l("The other side is told this reason."),
    )


class BidMessageForm(FlaskForm):
    """A message of the conversation about a bid, with files."""

    body = TextAreaField(_l("Message"), [required(), max_length(10_000)])
    files = MultipleFileField(_l("Files"))
