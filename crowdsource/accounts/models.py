"""Users, their sessions and mailed links, login attempts, centers, organizations,
memberships, invitations and requests for real-name verification."""

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import orm

from crowdsource.db import LabelledEnum, UTCDateTime, db, enum_column_type, set_labels, utcnow


class Language(enum.StrEnum):
    ZH_CN = "zh_CN"
    EN = "en"


LANGUAGE_NAMES = {Language.ZH_CN: "中文", Language.EN: "English"}


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: stored stripped and lowercased, so uniqueness ignores case
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254), unique=True)
    #: werkzeug hash string (scrypt by default)
    password_hash: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    display_name: orm.Mapped[str] = orm.mapped_column(sa.String(80))
    #: preferred UI language
    locale: orm.Mapped[Language] = orm.mapped_column(
        enum_column_type(Language, "user_locale"), default=Language.ZH_CN
    )
    #: IANA zone in which times are shown
    timezone: orm.Mapped[str] = orm.mapped_column(sa.String(64), default="Asia/Shanghai")
    #: Markdown, rendered through the sanitizer
    bio: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    #: list of short skill tags
    skills: orm.Mapped[list] = orm.mapped_column(sa.JSON, default=list)
    #: send e-mail for important notifications
    email_notifications: orm.Mapped[bool] = orm.mapped_column(
        default=True, server_default=sa.true()
    )
    #: platform operator
    is_admin: orm.Mapped[bool] = orm.mapped_column(default=False)
    #: a deactivated account cannot log in
    active: orm.Mapped[bool] = orm.mapped_column(default=True)
    #: when the platform suspended the account (then ``active`` is False) and why
    suspended_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    suspension_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    #: when the owner of the address opened the link mailed to it; None: not verified yet
    email_verified_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: since when the person's legal name and resident ID are verified (实名认证, see
    #: Verification); None: not verified, or the verification was revoked
    real_name_verified_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    memberships: orm.Mapped[list["Membership"]] = orm.relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    #: the signed-in session of the request (set by the user loader), None elsewhere
    current_session = None

    @property
    def is_active(self):
        return self.active

    def __eq__(self, other):
        # One account is one row. (Flask-Login's UserMixin compares get_id(), which names the
        # signed-in session here: it would make a user differ from themselves read elsewhere,
        # and every two users without a session equal.)
        if not isinstance(other, User):
            return NotImplemented
        if self.id is None or other.id is None:
            return self is other
        return self.id == other.id

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self):
        return object.__hash__(self) if self.id is None else hash(("user", self.id))

    @property
    def email_verified(self):
        return self.email_verified_at is not None

    @property
    def real_name_verified(self):
        return self.real_name_verified_at is not None

    def get_id(self):
        """The identity Flask-Login keeps in the session and the remember cookie: the user and
        the key of the server-side session (crowdsource.accounts.sessions)."""
        if self.current_session is None or self.current_session.raw_key is None:
            return None
        return f"{self.id}:{self.current_session.raw_key}"

    def __repr__(self):
        return f"<User {self.id} {self.email}>"


class LoginAttempt(db.Model):
    """One try to log in to an account; the throttle counts recent failures."""

    __tablename__ = "login_attempts"
    __table_args__ = (sa.Index("ix_login_attempts_email_at", "email", "at"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: the normalized email that was tried (the account may not exist)
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254))
    succeeded: orm.Mapped[bool]
    #: client address, for the operator's eyes only
    ip: orm.Mapped[str | None] = orm.mapped_column(sa.String(45))
    at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)


class UserSession(db.Model):
    """One signed-in session (a browser, a device), kept on the server so that it can end:
    logging out, a new password, a reset or a suspension end it, and a cookie of an ended
    session names nobody. The cookie carries the key; only its hash is stored."""

    __tablename__ = "user_sessions"
    __table_args__ = (sa.Index("ix_user_sessions_user_ended", "user_id", "ended_at"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    #: SHA-256 (hex) of the key the session's cookies carry
    key_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64), unique=True)
    #: the browser and the system of the device, as its User-Agent names them
    browser: orm.Mapped[str] = orm.mapped_column(sa.String(60), default="")
    system: orm.Mapped[str] = orm.mapped_column(sa.String(60), default="")
    #: the client's address at sign-in and at the last request
    ip: orm.Mapped[str | None] = orm.mapped_column(sa.String(45))
    #: signed in with "remember me": it lasts REMEMBER_COOKIE_DURATION, else it ends when idle
    remember: orm.Mapped[bool] = orm.mapped_column(default=False)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    ended_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    user: orm.Mapped[User] = orm.relationship()

    #: the key itself, known only in the request that made the session or read its cookie
    raw_key = None


class LinkPurpose(enum.StrEnum):
    RESET_PASSWORD = "reset_password"
    VERIFY_EMAIL = "verify_email"


class AccountLink(db.Model):
    """A link mailed to an address: to set a new password, or to prove the address is the
    user's. Used once, valid until ``expires_at``. The link carries the row's id and a token
    derived from SECRET_KEY and ``nonce``, so the table alone cannot forge one."""

    __tablename__ = "account_links"
    __table_args__ = (sa.Index("ix_account_links_user_purpose", "user_id", "purpose"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    purpose: orm.Mapped[LinkPurpose] = orm.mapped_column(enum_column_type(LinkPurpose, "purpose"))
    #: the address it is mailed to (for a verification: the address being verified)
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254))
    #: random, secret with SECRET_KEY: the link's token is their HMAC
    nonce: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    expires_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime)
    #: when the link was followed to its end (or replaced by a newer one): then it is spent
    used_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the Message-ID its e-mail was sent with, and when the mail server accepted it
    email_message_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    emailed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    user: orm.Mapped[User] = orm.relationship()


class TwoFactor(db.Model):
    """A user's authenticator app (TOTP, RFC 6238). The secret is derived from SECRET_KEY and
    ``nonce`` (crowdsource.accounts.two_factor), so the table alone does not give it away."""

    __tablename__ = "two_factor"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"), unique=True)
    #: random; the secret is its HMAC under SECRET_KEY
    nonce: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: when the user proved the app works (a first code); until then sign-in does not ask it
    confirmed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the time step of the last code accepted: a code is good once, never again
    last_step: orm.Mapped[int] = orm.mapped_column(sa.BigInteger, default=0)

    user: orm.Mapped[User] = orm.relationship()


class RecoveryCode(db.Model):
    """A one-time code that signs in instead of the authenticator app (a lost phone)."""

    __tablename__ = "recovery_codes"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    #: SHA-256 (hex) of the code
    code_hash: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    used_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)


class CenterLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"

    @property
    def label(self):
        return CENTER_LEVEL_LABELS[self]


CENTER_LEVEL_LABELS = {
    CenterLevel.PROVINCE: _l("province"),
    CenterLevel.CITY: _l("city"),
    CenterLevel.COUNTY: _l("county"),
}

#: the level a center's parent must have
PARENT_LEVEL = {CenterLevel.CITY: CenterLevel.PROVINCE, CenterLevel.COUNTY: CenterLevel.CITY}


class Center(db.Model):
    """A regional innovation center; centers form a province → city → county tree."""

    __tablename__ = "centers"

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    #: short stable name used by the CLI and URLs of later features, e.g. "qingdao"
    code: orm.Mapped[str] = orm.mapped_column(sa.String(40), unique=True)
    name_zh: orm.Mapped[str] = orm.mapped_column(sa.String(80))
    name_en: orm.Mapped[str] = orm.mapped_column(sa.String(120))
    level: orm.Mapped[CenterLevel] = orm.mapped_column(enum_column_type(CenterLevel, "level"))
    parent_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("centers.id"))
    #: materialized path of zero-padded ids, "/00000001/00000004/"; a subtree is a prefix
    path: orm.Mapped[str] = orm.mapped_column(sa.String(255), index=True, default="")

    parent: orm.Mapped["Center | None"] = orm.relationship(remote_side=[id])

    @property
    def name(self):
        """The name in the current UI language."""
        locale = get_locale()
        return self.name_zh if locale is not None and locale.language == "zh" else self.name_en

    @property
    def ancestor_ids(self):
        """Ids of this center and every center above it."""
        return [int(part) for part in self.path.strip("/").split("/") if part]

    @property
    def depth(self):
        return len(self.ancestor_ids) - 1

    def __repr__(self):
        return f"<Center {self.code}>"


class CenterManager(db.Model):
    """A user who manages a center, and with it the center's whole subtree."""

    __tablename__ = "center_managers"
    __table_args__ = (sa.UniqueConstraint("center_id", "user_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    center_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("centers.id"))
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    center: orm.Mapped[Center] = orm.relationship()
    user: orm.Mapped[User] = orm.relationship()


class OrgKind(enum.StrEnum):
    ENTERPRISE = "enterprise"
    AGENCY = "agency"
    INSTITUTION = "institution"

    @property
    def label(self):
        return ORG_KIND_LABELS[self]


ORG_KIND_LABELS = {
    OrgKind.ENTERPRISE: _l("Enterprise"),
    OrgKind.AGENCY: _l("Service agency"),
    OrgKind.INSTITUTION: _l("University or research institute"),
}


class Ownership(enum.StrEnum):
    STATE = "state"
    PRIVATE = "private"
    UNIVERSITY = "university"
    RESEARCH_INSTITUTE = "research_institute"
    OTHER = "other"

    @property
    def label(self):
        return OWNERSHIP_LABELS[self]


OWNERSHIP_LABELS = {
    Ownership.STATE: _l("State-owned"),
    Ownership.PRIVATE: _l("Private"),
    Ownership.UNIVERSITY: _l("University"),
    Ownership.RESEARCH_INSTITUTE: _l("Research institute"),
    Ownership.OTHER: _l("Other"),
}


class Organization(db.Model):
    """An enterprise, a service agency (科技服务机构) or a university / research institute."""

    __tablename__ = "organizations"
    __table_args__ = (
        sa.CheckConstraint("kind <> 'agency' OR ownership IS NOT NULL", name="agency_ownership"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    #: identity.name_key(name), the same for names that look alike (case, width, spaces,
    #: confusable letters): the index refuses a look-alike of a registered name. NULL only for
    #: an organization that had such a name before migration 0010; a new name gives it a key.
    name_key: orm.Mapped[str | None] = orm.mapped_column(sa.String(64), index=True, unique=True)
    kind: orm.Mapped[OrgKind] = orm.mapped_column(enum_column_type(OrgKind, "kind"))
    #: required for agencies
    ownership: orm.Mapped[Ownership | None] = orm.mapped_column(
        enum_column_type(Ownership, "ownership")
    )
    #: 统一社会信用代码, 18 characters, check digit verified (GB 32100-2015)
    credit_code: orm.Mapped[str] = orm.mapped_column(sa.String(18), unique=True)
    #: home innovation center
    center_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("centers.id"), index=True)
    #: Markdown, rendered through the sanitizer
    description: orm.Mapped[str] = orm.mapped_column(sa.Text, default="")
    #: since when its business licence and credit code are verified (see Verification);
    #: None: not verified, or the verification was revoked
    real_name_verified_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    center: orm.Mapped[Center] = orm.relationship()
    memberships: orm.Mapped[list["Membership"]] = orm.relationship(
        back_populates="organization", order_by="Membership.id"
    )

    @property
    def members(self):
        """The people of the organization, in the order they joined."""
        return [membership.user for membership in self.memberships]

    @property
    def real_name_verified(self):
        return self.real_name_verified_at is not None

    def __repr__(self):
        return f"<Organization {self.id} {self.name}>"


class Role(enum.StrEnum):
    OWNER = "owner"
    MEMBER = "member"

    @property
    def label(self):
        return ROLE_LABELS[self]


ROLE_LABELS = {Role.MEMBER: _l("Member"), Role.OWNER: _l("Owner")}


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("user_id", "organization_id"),)

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    user_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    organization_id: orm.Mapped[int] = orm.mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    role: orm.Mapped[Role] = orm.mapped_column(enum_column_type(Role, "role"))
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)

    user: orm.Mapped[User] = orm.relationship(back_populates="memberships")
    organization: orm.Mapped[Organization] = orm.relationship(back_populates="memberships")


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return INVITATION_STATUS_LABELS[self]


INVITATION_STATUS_LABELS = {
    InvitationStatus.PENDING: _l("pending"),
    InvitationStatus.ACCEPTED: _l("accepted"),
    InvitationStatus.DECLINED: _l("declined"),
    InvitationStatus.CANCELLED: _l("withdrawn"),
}

INVITATION_MOVES = {
    InvitationStatus.PENDING: {
        InvitationStatus.ACCEPTED,
        InvitationStatus.DECLINED,
        InvitationStatus.CANCELLED,
    }
}


class Invitation(db.Model):
    """An owner's invitation of a registered user to join an organization."""

    __tablename__ = "invitations"
    __table_args__ = (
        # at most one pending invitation per user and organization
        sa.Index(
            "uq_invitations_pending",
            "organization_id",
            "invitee_id",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    organization_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("organizations.id"))
    invitee_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    invited_by_id: orm.Mapped[int] = orm.mapped_column(sa.ForeignKey("users.id"))
    #: the role the invitee gets on accepting
    role: orm.Mapped[Role] = orm.mapped_column(enum_column_type(Role, "role"))
    status: orm.Mapped[InvitationStatus] = orm.mapped_column(
        enum_column_type(InvitationStatus, "status"), default=InvitationStatus.PENDING
    )
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    responded_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    #: the Message-ID its e-mail was sent with (every attempt computes the same one)
    email_message_id: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    #: when the mail server accepted the invitation's e-mail; a retried job sends nothing then
    emailed_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)

    organization: orm.Mapped[Organization] = orm.relationship()
    invitee: orm.Mapped[User] = orm.relationship(foreign_keys=[invitee_id])
    invited_by: orm.Mapped[User] = orm.relationship(foreign_keys=[invited_by_id])


class VerificationKind(LabelledEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


class VerificationStatus(LabelledEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    REVOKED = "revoked"


set_labels(
    VerificationKind,
    {
        VerificationKind.PERSON: _l("Individual"),
        VerificationKind.ORGANIZATION: _l("Organization"),
    },
)
set_labels(
    VerificationStatus,
    {
        VerificationStatus.PENDING: _l("waiting for review"),
        VerificationStatus.APPROVED: _l("verified"),
        VerificationStatus.REFUSED: _l("refused"),
        VerificationStatus.REVOKED: _l("revoked"),
    },
)

#: a refused or revoked request stays as it is: the applicant applies again with a new one
VERIFICATION_MOVES = {
    VerificationStatus.PENDING: {VerificationStatus.APPROVED, VerificationStatus.REFUSED},
    VerificationStatus.APPROVED: {VerificationStatus.REVOKED},
}

#: the statuses of a request that is live: at most one per person, organization and ID number
_LIVE = "status IN ('pending', 'approved')"


def _live_index(name, *columns, where=_LIVE):
    return sa.Index(
        name,
        *columns,
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


class Verification(db.Model):
    """A request for real-name verification (实名认证): a person's legal name and resident ID
    number, or an organization's credit code and business licence, reviewed by a manager of
    ``center`` (or a center above it) or the admin. The resident ID number itself is never
    stored: only its keyed hash (to find a number given twice) and its last four characters."""

    __tablename__ = "verifications"
    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'organization') = (organization_id IS NOT NULL)", name="subject"
        ),
        sa.CheckConstraint("kind = 'organization' OR applicant_id IS NOT NULL", name="person"),
        _live_index(
            "uq_verifications_person_live",
            "applicant_id",
            where=f"kind = 'person' AND {_LIVE}",
        ),
        _live_index("uq_verifications_organization_live", "organization_id"),
        _live_index("uq_verifications_id_number_live", "id_number_hash"),
        sa.Index("ix_verifications_status_center", "status", "center_id"),
    )

    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    kind: orm.Mapped[VerificationKind] = orm.mapped_column(
        enum_column_type(VerificationKind, "kind")
    )
    #: the person verified, or the owner who applied for the organization (None only for an
    #: organization vouched for without an owner: see verification.vouch)
    applicant_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"), index=True)
    #: the organization verified (None for a person)
    organization_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("organizations.id"))
    #: whose managers review it (with the managers above it); None: the admin only
    center_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("centers.id"))
    status: orm.Mapped[VerificationStatus] = orm.mapped_column(
        enum_column_type(VerificationStatus, "status"), default=VerificationStatus.PENDING
    )
    #: a person's legal name as on the ID card
    legal_name: orm.Mapped[str | None] = orm.mapped_column(sa.String(80))
    #: HMAC-SHA-256 (hex, keyed with SECRET_KEY) of the resident ID number (resident_id.py)
    id_number_hash: orm.Mapped[str | None] = orm.mapped_column(sa.String(64))
    #: the last four characters of the resident ID number: all that is ever shown of it
    id_number_last_four: orm.Mapped[str | None] = orm.mapped_column(sa.String(4))
    #: an organization's unified social credit code, as it applied with it
    credit_code: orm.Mapped[str | None] = orm.mapped_column(sa.String(18))
    #: the business licence: the stored file's generated name under UPLOAD_FOLDER, the name it
    #: was uploaded with, its type and size in bytes
    licence_stored_name: orm.Mapped[str | None] = orm.mapped_column(sa.String(64))
    licence_name: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    licence_content_type: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    licence_size: orm.Mapped[int | None]
    created_at: orm.Mapped[dt.datetime] = orm.mapped_column(UTCDateTime, default=utcnow)
    #: who approved or refused it, when, and why (required for a refusal: the applicant reads it)
    decided_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    decided_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    decision_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    #: who revoked an approved verification, when, and why
    revoked_by_id: orm.Mapped[int | None] = orm.mapped_column(sa.ForeignKey("users.id"))
    revoked_at: orm.Mapped[dt.datetime | None] = orm.mapped_column(UTCDateTime)
    revocation_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)

    applicant: orm.Mapped[User | None] = orm.relationship(foreign_keys=[applicant_id])
    organization: orm.Mapped[Organization | None] = orm.relationship()
    center: orm.Mapped[Center | None] = orm.relationship()
    decided_by: orm.Mapped[User | None] = orm.relationship(foreign_keys=[decided_by_id])
    revoked_by: orm.Mapped[User | None] = orm.relationship(foreign_keys=[revoked_by_id])

    @property
    def subject(self):
        """Who is verified: the organization, or the person."""
        return self.organization if self.kind == VerificationKind.ORGANIZATION else self.applicant

    @property
    def subject_name(self):
        if self.kind == VerificationKind.ORGANIZATION:
            return self.organization.name
        return self.applicant.display_name

    def __repr__(self):
        return f"<Verification {self.id} {self.kind} {self.status}>"
