"""Jobs of the notifications package: e-mail a notification in its reader's language and time
zone (as they are when the mail is sent), once.

The job is safe to run again (RQ retries it when it fails or its work horse is killed): a
notification whose ``emailed_at`` is set is not sent again, and every attempt sends the same
Message-ID. SMTP has no idempotency key, so one window stays open: if the worker dies after
the mail server accepted the message but before ``emailed_at`` is committed, the retry sends
it a second time — with the same Message-ID, by which mailbox providers show it once (see
crowdsource/mail.py). The mail server is called between transactions, never under a row lock:
a slow server must not hold up the reader marking their notifications read.
"""

from flask_babel import force_locale
from flask_babel import gettext as _

from crowdsource import mail
from crowdsource.accounts.models import User
from crowdsource.db import db
from crowdsource.mail import external_url
from crowdsource.notifications import messages
from crowdsource.notifications.models import DIGEST_COUNT, Notification


def send_notification_email(notification_id):
    """Send the notification by mail, unless it was sent already or the reader has meanwhile
    turned e-mail off; then record that it was sent."""
    mail.send_once(Notification, notification_id, _compose)


def _compose(notification_id):
    """``(to, subject, body, message_id)`` of the notification's mail, or None if none is due."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.emailed_at is not None:
        return None
    user = db.session.get(User, notification.user_id)
    if not user.email_notifications:
        return None
    # Written now, as the reader reads: their language, amounts in its format, moments in
    # their time zone (messages.values reads it from the reader's profile).
    with force_locale(str(user.locale)):
        subject = messages.subject(notification)
        lines = [subject, messages.detail(notification), ""]
        if DIGEST_COUNT in (notification.params or {}):
            lines += [messages.digest_note(), ""]
        lines.append(
            _(
                "Open Crowdsource: %(url)s",
                url=external_url("home.index").rstrip("/") + notification.link,
            )
        )
        lines.append(
            _(
                "You can turn these e-mails off in your profile: %(url)s",
                url=external_url("accounts.edit_profile"),
            )
        )
    body = "\n".join(line for line in lines if line is not None)
    # Rows from before Message-IDs were stored get the one notify() would have given them.
    message_id = notification.email_message_id or mail.message_id("notification", notification.id)
    return user.email, subject, body, message_id
