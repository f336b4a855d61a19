"""The notification list; opening one marks it read."""

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crowdsource.db import db, transaction
from crowdsource.notifications import bp, messages, services
from crowdsource.notifications.models import Notification
from crowdsource.web import ConfirmForm, QueryArguments, get_or_404, is_safe_next


@bp.get("/notifications")
@login_required
def index():
    query = (
        sa.select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc())
    )
    arguments = QueryArguments()
    pagination = db.paginate(query, page=arguments.page(), per_page=30, error_out=False)
    html = render_template(
        "notifications/index.html", pagination=pagination, messages=messages, confirm=ConfirmForm()
    )
    return html, arguments.status


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_one(notification_id):
    notification = get_or_404(Notification, notification_id)
    if notification.user_id != current_user.id:
        return redirect(url_for("notifications.index"))
    ConfirmForm().validate_on_submit()
    with transaction():
        services.mark_read(current_user, [notification.id])
    target = notification.link if is_safe_next(notification.link) else url_for("home.index")
    return redirect(target)


@bp.post("/notifications/read")
@login_required
def read_all():
    ConfirmForm().validate_on_submit()
    with transaction():
        services.mark_read(current_user)
    flash(_("All notifications are marked as read."), "info")
    return redirect(url_for("notifications.index"))
