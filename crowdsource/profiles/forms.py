"""Forms of the profiles: portfolio items, the contract link, certifications."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, MultipleFileField, SelectField, StringField, TextAreaField
from wtforms.validators import NumberRange, Optional

from crowdsource.forms import max_length, required, required_text

FILES_HELP = _l(
    "Images (PNG, JPEG, GIF) show on your profile; PDF, office documents and ZIP files can be "
    "downloaded. At most 20 MB each."
)


class PortfolioItemForm(FlaskForm):
    title = StringField(_l("Title"), [required_text(), max_length(200)])
    description = TextAreaField(
        _l("Description"), [max_length(10_000)], description=_l("Markdown is supported.")
    )
    files = MultipleFileField(_l("Images and files"), description=FILES_HELP)


class ContractLinkForm(FlaskForm):
    contract_id = SelectField(_l("Completed contract"), coerce=int, choices=[])


class CertificationForm(FlaskForm):
    name = StringField(_l("Certification"), [required_text(), max_length(200)])
    issuer = StringField(_l("Issued by"), [required_text(), max_length(200)])
    year = IntegerField(
        _l("Year"),
        [required(), NumberRange(min=1000, max=9999, message=_l("Give a year such as 2024."))],
    )
    files = MultipleFileField(_l("Scan (optional)"), [Optional()])
