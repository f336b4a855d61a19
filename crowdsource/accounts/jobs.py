"""Background jobs of the accounts package: they take ids and are safe to run again.

The invitation mail is sent once per invitation: the job records ``emailed_at`` after the mail
server accepted it and sends nothing when it finds it set. SMTP has no idempotency key, so a
worker killed between the server's acceptance and that record makes the retry send it again —
with the same Message-ID (derived from the invitation's id), which mailbox providers show once
(see crowdsource/mail.py). The mail server is called between transactions, not under a lock.
"""

from flask_babel import force_locale
from flask_babel import gettext as _

from crowdsource import mail, outbox
from crowdsource.accounts import links
from crowdsource.accounts.models import AccountLink, Invitation, InvitationStatus
from crowdsource.db import db
from crowdsource.mail import external_url
from crowdsource.outbox import enqueue


def send_invitation_email(invitation_id):
    """Tell the invitee, in their language, that an organization invites them (once)."""
    mail.send_once(Invitation, invitation_id, _compose)


def send_link_email(link_id):
    """Mail a password-reset or verification link to its address (once)."""
    mail.send_once(AccountLink, link_id, links.compose_mail)


def enqueue_invitation_email(invitation_id):
    """Enqueue the invitation's mail job, retried by RQ when it fails or is killed."""
    enqueue(
        "crowdsource.accounts.jobs:send_invitation_email",
        invitation_id,
        queue=outbox.MAIL,
        retry_intervals=mail.RETRY_INTERVALS,
    )


def _compose(invitation_id):
    """``(to, subject, body, message_id)`` of the invitation's mail, or None if none is due."""
    invitation = db.session.get(Invitation, invitation_id)
    if (
        invitation is None
        or invitation.status != InvitationStatus.PENDING
        or invitation.emailed_at is not None
    ):
        return None
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
    message_id = invitation.email_message_id or mail.message_id("invitation", invitation.id)
    return invitee.email, subject, body, message_id
