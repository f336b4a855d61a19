"""Background jobs of the accounts package: they take ids and are safe to run again."""

from flask_babel import force_locale
from flask_babel import gettext as _

from crowdsource.accounts.models import Invitation, InvitationStatus
from crowdsource.db import db
from crowdsource.mail import external_url, send_mail


def send_invitation_email(invitation_id):
    """Tell the invitee, in their language, that an organization invites them."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.status != InvitationStatus.PENDING:
        return
    invitee = invitation.invitee
    with force_locale(str(invitee.locale)):
        subject = _("%(org)s invites you to Crowdsource", org=invitation.organization.name)
        body = _(
            "%(inviter)s invites you to join %(org)s on Crowdsource as %(role)s.\n\n"
            "Accept or decline the invitation here: %(url)s",
            inviter=invitation.invited_by.display_name,
            org=invitation.organization.name,
            role=invitation.role.label,
            url=external_url("accounts.my_invitations"),
        )
    send_mail(invitee.email, subject, body)
