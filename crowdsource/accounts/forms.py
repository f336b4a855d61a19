"""Forms of the accounts package; validate_<field> methods give friendly messages."""

import zoneinfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, EqualTo, Optional

from crowdsource.accounts import credit_code, passwords
from crowdsource.accounts.models import (
    LANGUAGE_NAMES,
    ORG_KIND_LABELS,
    OWNERSHIP_LABELS,
    ROLE_LABELS,
)
from crowdsource.accounts.services import find_user_by_email
from crowdsource.forms import choices, max_length, required


def language_choices():
    return choices(LANGUAGE_NAMES)


def timezone_choices():
    return [SelectChoice(zone) for zone in sorted(zoneinfo.available_timezones()) if "/" in zone]


def _email_field(label):
    return EmailField(
        label,
        [required(), Email(message=_l("Enter a valid email address.")), max_length(254)],
    )


class RegistrationForm(FlaskForm):
    email = _email_field(_l("Email"))
    display_name = StringField(_l("Display name"), [required(), max_length(80)])
    password = PasswordField(
        _l("Password"),
        [required(), max_length(200)],
        description=_l("At least 10 characters; not a common password."),
    )
    confirm = PasswordField(
        _l("Repeat password"),
        [required(), EqualTo("password", message=_l("The passwords do not match."))],
    )
    locale = SelectField(_l("Preferred language"), choices=language_choices())

    def validate_email(self, field):
        # Only a well-formed address is looked up: the rest has its message already.
        if not field.errors and find_user_by_email(field.data) is not None:
            raise ValidationError(_l("An account with this email already exists."))

    def validate_password(self, field):
        problem = passwords.weakness(field.data, self.email.data, self.display_name.data)
        if problem:
            raise ValidationError(problem)


class LoginForm(FlaskForm):
    email = _email_field(_l("Email"))
    password = PasswordField(_l("Password"), [required(), max_length(200)])
    remember = BooleanField(_l("Remember me"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), [required(), max_length(200)])

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_current_password(self, field):
        if not passwords.verify_password(self.user.password_hash, field.data):
            raise ValidationError(_l("The current password is wrong."))

    def validate_new_password(self, field):
        problem = passwords.weakness(field.data, self.user.email, self.user.display_name)
        if problem:
            raise ValidationError(problem)

    new_password = PasswordField(
        _l("New password"),
        [required(), max_length(200)],
        description=_l("At least 10 characters; not a common password."),
    )
    confirm = PasswordField(
        _l("Repeat new password"),
        [required(), EqualTo("new_password", message=_l("The passwords do not match."))],
    )


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Display name"), [required(), max_length(80)])
    bio = TextAreaField(
        _l("About you"),
        [Optional(), max_length(5000)],
        description=_l("Markdown is supported."),
    )
    skills = StringField(
        _l("Skills"),
        [Optional(), max_length(1000)],
        description=_l("Separate skills with commas, e.g. machine vision, PLC, CFD."),
    )
    locale = SelectField(_l("Preferred language"), choices=language_choices())
    timezone = SelectField(_l("Time zone"), choices=timezone_choices())
    email_notifications = BooleanField(_l("Send me important notifications by e-mail"))


class OrganizationForm(FlaskForm):
    name = StringField(_l("Name"), [required(), max_length(200)])
    kind = SelectField(_l("Kind"), choices=choices(ORG_KIND_LABELS))
    ownership = SelectField(
        _l("Ownership type"),
        choices=[SelectChoice("", _l("— not stated —")), *choices(OWNERSHIP_LABELS)],
        description=_l("Required for service agencies."),
    )
    credit_code = StringField(
        _l("Unified social credit code"),
        [required()],
        description=_l("18 characters, as on the business licence (统一社会信用代码)."),
    )
    center_id = SelectField(_l("Home innovation center"), coerce=int, choices=[])
    description = TextAreaField(
        _l("Description"), [Optional(), max_length(5000)], description=_l("Markdown is supported.")
    )

    def validate_ownership(self, field):
        if self.kind.data == "agency" and not field.data:
            raise ValidationError(_l("A service agency must state its ownership type."))

    def validate_credit_code(self, field):
        messages = {
            "length": _l("The code has exactly 18 characters."),
            "characters": _l(
                "The code uses only digits and capital letters other than I, O, Z, S and V."
            ),
            "division": _l("Characters 3 to 8 are the administrative division code: digits only."),
            "check": _l("The check character does not match: please check the code for typos."),
        }
        problem = credit_code.problem(credit_code.normalize(field.data))
        if problem:
            raise ValidationError(messages[problem])


class InviteForm(FlaskForm):
    email = _email_field(_l("Email of a registered user"))
    role = SelectField(_l("Role"), choices=choices(ROLE_LABELS))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices(ROLE_LABELS))


class ManagerForm(FlaskForm):
    email = _email_field(_l("Email of a registered user"))


class ForgotPasswordForm(FlaskForm):
    email = _email_field(_l("Email"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        [required(), max_length(200)],
        description=_l("At least 10 characters; not a common password."),
    )
    confirm = PasswordField(
        _l("Repeat new password"),
        [required(), EqualTo("password", message=_l("The passwords do not match."))],
    )


class ChangeEmailForm(FlaskForm):
    email = _email_field(_l("New email address"))
    password = PasswordField(_l("Your password"), [required(), max_length(200)])


class TwoFactorCodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        [required(), max_length(20)],
        description=_l("The six digits your authenticator app shows, or a recovery code."),
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True},
    )


class TwoFactorSetupForm(FlaskForm):
    code = StringField(
        _l("Code from the app"),
        [required(), max_length(20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class TwoFactorOffForm(FlaskForm):
    password = PasswordField(_l("Your password"), [required(), max_length(200)])


class PersonVerificationForm(FlaskForm):
    legal_name = StringField(
        _l("Legal name"),
        [required(), max_length(80)],
        description=_l("As on your resident identity card (居民身份证)."),
    )
    id_number = StringField(
        _l("Resident ID number"),
        [required(), max_length(40)],
        description=_l(
            "18 characters. Only its last four characters are kept to show you again; the "
            "platform stores a fingerprint of it, never the number."
        ),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    center_id = SelectField(
        _l("Innovation center"),
        coerce=int,
        choices=[],
        description=_l(
            "Where you live or work: its managers (or the platform's admin) review your request."
        ),
    )


class OrganizationVerificationForm(FlaskForm):
    credit_code = StringField(
        _l("Unified social credit code"),
        [required(), max_length(40)],
        description=_l(
            "As on the business licence: it must be the code the organization is registered with."
        ),
    )
    licence = FileField(
        _l("Business licence"),
        [FileRequired(message=_l("Choose a file."))],
        description=_l(
            "A scan or photo of the business licence (营业执照): PDF, JPEG or PNG, at most 10 MB."
        ),
    )


class DecisionForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        [Optional(), max_length(2000)],
        description=_l("Required for a refusal or a revocation: the applicant reads it."),
    )
