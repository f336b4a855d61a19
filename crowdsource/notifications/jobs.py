"""Jobs of the notifications package: e-mail a notification in its reader's language."""

from flask_babel import force_locale
from flask_babel import gettext as _

from crowdsource.accounts.models import User
from crowdsource.db import db
from crowdsource.mail import external_url, send_mail
from crowdsource.notifications import messages
from crowdsource.notifications.models import Notification


def send_notification_email(notification_id):
    """Send the notification by mail, unless the reader has meanwhile turned e-mail off."""
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        return
    user = db.session.get(User, notification.user_id)
    if not user.email_notifications:
        return
    with force_locale(str(user.locale)):
        subject = messages.subject(notification)
        lines = [subject, messages.detail(notification), ""]
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
    send_mail(user.email, subject, "\n".join(line for line in lines if line is not None))
