"""Forms of the tasks package: posting and editing a task, searching, questions, uploads."""

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from crowdsource.accounts.services import find_user_by_email
from crowdsource.db import utcnow
from crowdsource.forms import (
    NOT_AN_OPTION,
    YuanField,
    enum_choices,
    max_length,
    required,
    required_text,
)
from crowdsource.tasks.models import BidMode, ContractType, IPTerms, TaskStatus, Visibility
from crowdsource.text import split_tags

MAX_TAGS = 15


class TaskForm(FlaskForm):
    organization_id = SelectField(_l("Post for"), coerce=int)
    title = StringField(_l("Title"), [required_text(), max_length(200)])
    summary = TextAreaField(
        _l("Summary"),
        [required_text(), max_length(500)],
        description=_l("Shown in lists, and before a solver accepts the confidentiality terms."),
    )
    description = TextAreaField(
        _l("Description"),
        [required_text(), max_length(20000)],
        description=_l("The full challenge: goals, constraints, acceptance criteria. Markdown."),
    )
    contract_type = SelectField(_l("Contract type"), choices=enum_choices(ContractType))
    fields = StringField(
        _l("Fields"),
        [Optional(), max_length(500)],
        description=_l("Technical fields, separated by commas, e.g. 智能制造, machine vision."),
    )
    skills = StringField(
        _l("Required skills"),
        [Optional(), max_length(500)],
        description=_l("Separate skills with commas, e.g. machine vision, PLC, CFD."),
    )
    budget_min = YuanField(_l("Budget from (yuan)"), [required()])
    budget_max = YuanField(_l("Budget up to (yuan)"), [required()])
    bid_deadline = DateTimeLocalField(
        _l("Bid deadline"), [required()], format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
    )
    delivery_date = DateField(_l("Expected delivery date"), [required()])
    center_id = SelectField(_l("Innovation center"), coerce=int)
    visibility = SelectField(_l("Who can see it"), choices=enum_choices(Visibility))
    invite_emails = TextAreaField(
        _l("Invited solvers"),
        [Optional(), max_length(5000)],
        description=_l("For invite-only tasks: e-mails of registered users, separated by commas."),
    )
    invite_agencies = SelectMultipleField(_l("Invited agencies"), coerce=int, choices=[])
    bid_mode = SelectField(_l("Bid mode"), choices=enum_choices(BidMode))
    ip_terms = SelectField(_l("Intellectual property"), choices=enum_choices(IPTerms))
    nda_required = BooleanField(
        _l("Solvers must accept confidentiality terms (NDA) before seeing the description")
    )

    def fill_from(self, task):
        """Show a stored task in the form (times in the user's time zone)."""
        self.process(obj=task)
        self.budget_min.data = f"{task.budget_min_fen / 100:.2f}"
        self.budget_max.data = f"{task.budget_max_fen / 100:.2f}"
        self.bid_deadline.data = to_user_timezone(task.bid_deadline).replace(tzinfo=None)
        self.fields.data = ", ".join(task.fields)
        self.skills.data = ", ".join(task.skills)

    @property
    def deadline_utc(self):
        return to_utc(self.bid_deadline.data).replace(tzinfo=dt.UTC)

    def validate_budget_max(self, field):
        if field.fen and self.budget_min.fen and self.budget_min.fen > field.fen:
            raise ValidationError(_l("The maximum budget is below the minimum."))

    def validate_bid_deadline(self, field):
        if field.data and self.deadline_utc <= utcnow():
            raise ValidationError(_l("The bid deadline must be in the future."))

    def validate_delivery_date(self, field):
        if field.data and self.bid_deadline.data and field.data < self.bid_deadline.data.date():
            raise ValidationError(
                _l("The expected delivery date must come after the bid deadline.")
            )

    def validate_fields(self, field):
        if len(split_tags(field.data)) > MAX_TAGS:
            raise ValidationError(_l("List at most %(count)d entries.", count=MAX_TAGS))

    validate_skills = validate_fields

    def validate_invite_emails(self, field):
        unknown = [email for email in split_tags(field.data) if not find_user_by_email(email)]
        if unknown:
            raise ValidationError(
                _l("Nobody has registered with: %(emails)s", emails=", ".join(unknown))
            )

    def validate_visibility(self, field):
        invited = split_tags(self.invite_emails.data) or self.invite_agencies.data
        if field.data == Visibility.INVITE_ONLY and not invited:
            raise ValidationError(
                _l("Invite at least one solver or agency to an invite-only task.")
            )

    def invited_users(self):
        return [find_user_by_email(email) for email in split_tags(self.invite_emails.data)]


#: how the change history names the fields of a task
FIELD_LABELS = {
    "title": _l("Title"),
    "summary": _l("Summary"),
    "description": _l("Description"),
    "fields": _l("Fields"),
    "skills": _l("Required skills"),
    "budget_min_fen": _l("Budget from (yuan)"),
    "budget_max_fen": _l("Budget up to (yuan)"),
    "bid_deadline": _l("Bid deadline"),
    "delivery_date": _l("Expected delivery date"),
}

SORTS = {
    "newest": _l("Newest"),
    "deadline": _l("Deadline soonest"),
    "budget_high": _l("Budget, highest first"),
    "budget_low": _l("Budget, lowest first"),
}
STATUS_FILTERS = {
    "open": _l("Open for bids"),
    "closed": _l("Bidding closed"),
    "awarded": _l("Awarded"),
    "all": _l("All"),
}

#: what the list says of the status filter in force
STATUS_HINTS = {
    "open": _l("Showing open tasks only"),
    "closed": _l("Showing tasks whose bidding has closed only"),
    "awarded": _l("Showing awarded tasks only"),
}


class TaskFilterForm(FlaskForm):
    """The filters of the task list (a GET form: no CSRF token).

    A value that is not valid is shown with its message at the field and left out of the
    query (an unknown contract type or center id would make the database refuse it); an
    unknown status or sort is shown so, and the default applies. The page number is read with
    the list (web.QueryArguments).
    """

    class Meta:
        csrf = False

    q = StringField(_l("Keywords"), [Optional(), max_length(100)])
    contract_type = SelectField(
        _l("Contract type"),
        [Optional()],
        choices=[SelectChoice("", _l("Any type")), *enum_choices(ContractType)],
        invalid_choice_message=NOT_AN_OPTION,
    )
    # The options are the stored centers, so a valid id fits the centers' INTEGER column.
    center_id = SelectField(
        _l("Center"), [Optional()], coerce=str, choices=[], invalid_choice_message=NOT_AN_OPTION
    )
    budget_min = YuanField(_l("Budget from (yuan)"), [Optional()])
    budget_max = YuanField(_l("Budget up to (yuan)"), [Optional()])
    skill = StringField(_l("Skill or field"), [Optional(), max_length(40)])
    status = SelectField(
        _l("Status"),
        [Optional()],
        choices=[SelectChoice(k, v) for k, v in STATUS_FILTERS.items()],
        default="open",
        invalid_choice_message=NOT_AN_OPTION,
    )
    sort = SelectField(
        _l("Sort"),
        [Optional()],
        choices=[SelectChoice(k, v) for k, v in SORTS.items()],
        default="newest",
        invalid_choice_message=NOT_AN_OPTION,
    )

    def value(self, name):
        """The value of filter ``name`` after validation; None when empty or not valid."""
        field = self[name]
        return None if field.errors else field.data

    @property
    def refused(self):
        """True when a filter has a value that is not valid."""
        return bool(self.errors)

    def statuses(self):
        """The states to list; None for all. A status not valid means the default, open."""
        status = self.value("status")
        if status == "all":
            return None
        return {
            "closed": [TaskStatus.CLOSED],
            "awarded": [TaskStatus.AWARDED, TaskStatus.COMPLETED],
        }.get(status, [TaskStatus.OPEN])


class QuestionForm(FlaskForm):
    body = TextAreaField(_l("Your question"), [required(), max_length(4000)])


class AnswerForm(FlaskForm):
    answer = TextAreaField(_l("Answer"), [required(), max_length(4000)])


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for the cancellation"),
        [required(), max_length(2000)],
        description=_l("Bidders are told this reason."),
    )


class AttachmentForm(FlaskForm):
    file = FileField(_l("File"), [FileRequired(message=_l("Choose a file."))])
