"""Two-factor sign-in: a code from an authenticator app (TOTP, RFC 6238, by pyotp) after the
password, or one of ten one-time recovery codes.

Managers of centers and the admin move money, so they must use it: until they have set it up,
every page sends them to its setup (``requires_setup``). Everyone else may turn it on (and
off again). A code counts once: the time step of the last accepted one is stored, and a code
of that step or an earlier one is refused (no replay within its 30 seconds). The app's secret
is an HMAC of a stored nonce under SECRET_KEY, like the mailed links: the table alone does not
give it away.
"""

import base64
import hashlib
import hmac
import secrets

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from crowdsource.accounts import authz, passwords
from crowdsource.accounts.models import RecoveryCode, TwoFactor, User
from crowdsource.db import db, lock, utcnow
from crowdsource.errors import DomainError, NotAllowed

#: recovery codes made at a time, and their length (characters of base32)
RECOVERY_CODES = 10
RECOVERY_CODE_LENGTH = 10
#: codes of this many time steps before and after now are accepted (a clock off by 30 s)
VALID_WINDOW = 1
ISSUER = "Crowdsource"

WRONG_CODE = _l("This code is not right (or was used already). Enter the current one.")


def _secret(two_factor):
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"totp:{two_factor.nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode()


def _totp(two_factor):
    return pyotp.TOTP(_secret(two_factor))


def _hash(code):
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def _clean(code):
    return "".join((code or "").split()).replace("-", "").upper()


def of(user):
    """The user's TwoFactor row (set up or still being set up), or None."""
    return db.session.scalar(sa.select(TwoFactor).filter_by(user_id=user.id))


def is_enabled(user):
    found = of(user)
    return found is not None and found.confirmed_at is not None


def is_required(user):
    """True for those who move money, managers of a center and the admin, unless the
    platform's TWO_FACTOR_FOR_STAFF setting is off."""
    if not current_app.config["TWO_FACTOR_FOR_STAFF"]:
        return False
    return bool(user.is_admin or authz.managed_centers(user))


def requires_setup(user):
    """True while a user who must sign in with a second factor has not set it up."""
    return is_required(user) and not is_enabled(user)


def begin_setup(user):
    """A new, unconfirmed secret for the user (replacing an unconfirmed one). Raises
    DomainError when two-factor sign-in is on already. Flushed; returns the row."""
    found = of(user)
    if found is not None and found.confirmed_at is not None:
        raise DomainError(_l("Two-factor sign-in is on already."))
    if found is None:
        found = TwoFactor(user_id=user.id, nonce=secrets.token_hex(16))
        db.session.add(found)
    else:
        found.nonce = secrets.token_hex(16)
    db.session.flush()
    return found


def provisioning_uri(user, two_factor):
    return _totp(two_factor).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code(user, two_factor):
    """The setup QR code as inline SVG markup (made here: no image leaves the server)."""
    svg = segno.make(provisioning_uri(user, two_factor), error="m").svg_inline(
        scale=4, title=str(_l("QR code for your authenticator app")), dark="#000", light="#fff"
    )
    return Markup(svg)


def secret_text(two_factor):
    """The secret in groups of four, for typing into an app by hand."""
    secret = _secret(two_factor)
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _accept_code(two_factor, code, now):
    """True (and the step recorded) when ``code`` is a current code not used before."""
    code = _clean(code)
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = _totp(two_factor)
    moment = now or utcnow()
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = totp.timecode(moment) + offset
        if step > two_factor.last_step and hmac.compare_digest(totp.generate_otp(step), code):
            two_factor.last_step = step
            db.session.flush()
            return True
    return False


def confirm_setup(user, code, now=None):
    """Turn two-factor sign-in on with a first code from the app; returns the recovery codes
    (shown once). Raises DomainError (at ``code``) for a wrong code."""
    found = of(user)
    if found is None or found.confirmed_at is not None:
        raise DomainError(_l("Start the setup again."))
    found = lock(TwoFactor, found.id)
    if not _accept_code(found, code, now):
        raise DomainError(WRONG_CODE, field="code")
    found.confirmed_at = now or utcnow()
    return new_recovery_codes(user, now)


def new_recovery_codes(user, now=None):
    """Ten new recovery codes (the old ones stop working); returns them as text, which is
    never stored (only their hashes)."""
    now = now or utcnow()
    _spend_recovery_codes(user, now)
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode()[:RECOVERY_CODE_LENGTH]
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw), created_at=now))
    db.session.flush()
    return codes


def _spend_recovery_codes(user, now):
    db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now),
        execution_options={"synchronize_session": "fetch"},
    )


def unused_recovery_codes(user):
    return db.session.scalar(
        sa.select(sa.func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )


def check(user, code, now=None):
    """The second step of signing in: True when ``code`` is a current code of the user's app
    (not used before) or an unused recovery code (then used up)."""
    found = of(user)
    if found is None or found.confirmed_at is None:
        return False
    found = lock(TwoFactor, found.id)
    if _accept_code(found, code, now):
        return True
    recovery = db.session.scalar(
        sa.select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.used_at.is_(None),
            RecoveryCode.code_hash == _hash(code),
        )
    )
    if recovery is None:
        return False
    recovery.used_at = now or utcnow()
    db.session.flush()
    return True


def turn_off(user, password, now=None):
    """Turn two-factor sign-in off (with the password). Raises NotAllowed for those who must
    use it, DomainError (at ``password``) for a wrong password."""
    if is_required(user):
        raise NotAllowed(_l("Managers and the admin must sign in with two factors."))
    if not passwords.verify_password(user.password_hash, password):
        raise DomainError(_l("The password is wrong."), field="password")
    found = of(user)
    if found is not None:
        db.session.delete(found)
    _spend_recovery_codes(user, now or utcnow())
    db.session.flush()


def user_pending(user_id):
    """The user waiting for the second step, if they still may sign in."""
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    return user if user is not None and user.is_active else None
