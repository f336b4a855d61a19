"""Forms of the payments package."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from crowdsource.forms import (
    PercentField,
    YuanField,
    enum_choices,
    max_length,
    required,
    required_text,
)
from crowdsource.tasks.models import ContractType


class ConfirmTransferForm(FlaskForm):
    amount = YuanField(_l("Amount received (yuan)"), [required()])
    bank_reference = StringField(_l("Bank reference"), [required(), max_length(100)])


class TransferReportForm(FlaskForm):
    """The enterprise's "I have transferred" (the receipt is checked by the service)."""

    amount = YuanField(_l("Amount transferred (yuan)"), [required()])
    transferred_on = DateField(_l("Date of the transfer"), [required()])
    receipt = FileField(
        _l("Bank receipt (银行回单)"), description=_l("A PDF or an image (PNG, JPEG).")
    )


class RejectReportForm(FlaskForm):
    reason = TextAreaField(_l("Why the report is rejected"), [required(), max_length(2000)])


class SendPayoutForm(FlaskForm):
    bank_reference = StringField(
        _l("Bank reference of the transfer sent"), [required(), max_length(100)]
    )


class PayoutRequestForm(FlaskForm):
    """A payout to one of the payee's saved accounts (``details_id``) or to the bank details
    typed (all three then required)."""

    details_id = IntegerField(_l("Saved account"), [Optional()])
    bank_account_name = StringField(_l("Account name"), [max_length(200)])
    bank_name = StringField(_l("Bank"), [max_length(200)])
    bank_account_number = StringField(_l("Account number"), [max_length(60)])

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.details_id.data:
            return valid
        for typed in (self.bank_account_name, self.bank_name, self.bank_account_number):
            if not (typed.data or "").strip():
                typed.errors = [*typed.errors, _l("This field is required.")]
                valid = False
        return valid


class PayoutDetailsForm(FlaskForm):
    """A bank account saved for payouts; editing, an empty number keeps the stored one."""

    bank_account_name = StringField(_l("Account name"), [required_text(), max_length(200)])
    bank_name = StringField(_l("Bank"), [required_text(), max_length(200)])
    bank_account_number = StringField(
        _l("Account number"),
        [max_length(60)],
        description=_l("Digits only; spaces and dashes are left out."),
    )


class PolicyForm(FlaskForm):
    center_id = SelectField(_l("Applies to"), choices=[])
    contract_type = SelectField(
        _l("Contract type"),
        [Optional()],
        choices=[SelectChoice("", _l("All types")), *enum_choices(ContractType)],
    )
    commission = PercentField(_l("Platform commission, %"), [required(), max_length(8)])
    client_fee = PercentField(_l("Client-side fee, %"), [Optional(), max_length(8)])
    center_share = PercentField(_l("Center share, %"), [Optional(), max_length(8)])
    max_brokerage = PercentField(_l("Highest agency brokerage, %"), [required(), max_length(8)])
