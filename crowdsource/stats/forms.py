"""The filters of the dashboard (a GET form: no CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from crowdsource.forms import enum_choices
from crowdsource.stats.periods import FIRST_YEAR, LAST_YEAR
from crowdsource.tasks.models import ContractType

#: the most years one dashboard shows
MAX_YEARS = 10


class DashboardForm(FlaskForm):
    class Meta:
        csrf = False

    year_from = IntegerField(
        _l("From year"),
        [InputRequired(), NumberRange(min=FIRST_YEAR, max=LAST_YEAR)],
    )
    year_to = IntegerField(
        _l("To year"),
        [InputRequired(), NumberRange(min=FIRST_YEAR, max=LAST_YEAR)],
    )
    center_id = SelectField(_l("Center"), [Optional()], choices=[])
    contract_type = SelectField(
        _l("Contract type"),
        [Optional()],
        choices=[SelectChoice("", _l("All types")), *enum_choices(ContractType)],
    )

    def validate_year_to(self, field):
        if self.year_from.data is None or field.data is None:
            return
        if field.data < self.year_from.data:
            raise ValidationError(_l("The last year cannot be before the first."))
        if field.data - self.year_from.data >= MAX_YEARS:
            raise ValidationError(_l("Show at most %(n)d years at once.", n=MAX_YEARS))
