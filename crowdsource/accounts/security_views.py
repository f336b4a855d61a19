"""A forgotten password, proving an address, changing it, and the list of signed-in sessions."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, fresh_login_required, login_required, logout_user

from crowdsource.accounts import bp, links, sessions
from crowdsource.accounts.forms import ChangeEmailForm, ForgotPasswordForm, ResetPasswordForm
from crowdsource.accounts.models import LinkPurpose, User, UserSession
from crowdsource.accounts.signin import after_password, record_session_use
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError, TooManyAttempts, refused
from crowdsource.throttle import ClientLimit, client_address
from crowdsource.web import ConfirmForm, form_page, require_valid

bp.before_app_request(record_session_use)


# --- a forgotten password ----------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        limit = ClientLimit(
            current_app,
            "reset-requests",
            client_address(),
            current_app.config["RESET_REQUESTS_PER_CLIENT"],
            3600,
        )
        if limit.seconds_to_wait():
            form.email.errors.append(
                _("Too many requests from your address. Try again in an hour.")
            )
            return render_template("accounts/forgot_password.html", form=form), 429
        limit.count()
        with transaction():
            links.request_password_reset(form.email.data)
        return render_template("accounts/reset_sent.html", email=form.email.data)
    return form_page(render_template("accounts/forgot_password.html", form=form), form)


@bp.route("/password/reset/<code>", methods=["GET", "POST"])
def reset_password(code):
    if links.find(code, LinkPurpose.RESET_PASSWORD) is None:
        return render_template("accounts/link_invalid.html", reset=True), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            with transaction():
                user = links.reset_password(code, form.password.data)
        except DomainError as error:
            status = refused(form, error)
            return render_template("accounts/reset_password.html", form=form), status
        logout_user()  # whoever was signed in here: the reset ended their session
        flash(_("Your new password is set. Every other session has been logged out."), "success")
        # A second factor is still asked: the mailbox alone does not sign anyone in.
        second_step = after_password(db.session.get(User, user.id))
        return second_step or redirect(url_for("home.index"))
    return form_page(render_template("accounts/reset_password.html", form=form), form)


# --- proving an address ------------------------------------------------------------------------


@bp.route("/account/verify/<code>", methods=["GET", "POST"])
def verify_email(code):
    link = links.find(code, LinkPurpose.VERIFY_EMAIL)
    if link is None:
        return render_template("accounts/link_invalid.html", reset=False), 404
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            with transaction():
                links.verify_email(code)
        except DomainError as error:
            flash(error.message, "danger")
            return redirect(url_for("home.index"))
        flash(_("Thank you: your email address is confirmed."), "success")
        return redirect(url_for("home.index"))
    return render_template("accounts/verify_email.html", form=form, email=link.email)


@bp.post("/account/verification")
@login_required
def resend_verification():
    require_valid(ConfirmForm())
    if current_user.email_verified_at is not None:
        flash(_("Your email address is confirmed already."), "info")
        return redirect(url_for("accounts.security"))
    try:
        with transaction():
            links.send_verification(current_user)
    except TooManyAttempts as error:
        flash(error.message, "warning")
    else:
        flash(_("We have sent a new link to %(email)s.", email=current_user.email), "success")
    return redirect(url_for("accounts.security"))


@bp.route("/account/email", methods=["GET", "POST"])
@fresh_login_required
def change_email():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            with transaction():
                link = links.request_email_change(current_user, form.email.data, form.password.data)
        except DomainError as error:
            status = refused(form, error)
            return render_template("accounts/change_email.html", form=form), status
        flash(
            _(
                "We have sent a link to %(email)s: your address changes when you open it.",
                email=link.email,
            ),
            "success",
        )
        return redirect(url_for("accounts.security"))
    return form_page(render_template("accounts/change_email.html", form=form), form)


# --- sessions ----------------------------------------------------------------------------------


@bp.get("/account/security")
@login_required
def security():
    return render_template(
        "accounts/security.html",
        live=sessions.live_sessions(current_user),
        current=current_user.current_session,
        pending_address=links.pending_address(current_user),
        form=ConfirmForm(),
    )


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id):
    require_valid(ConfirmForm())
    session = sessions.session_of(current_user, session_id)
    if session is None:
        abort(404)
    ending_this_one = session.id == current_user.current_session.id
    with transaction():
        sessions.end(db.session.get(UserSession, session.id))
    if ending_this_one:
        logout_user()
        flash(_("You are logged out."), "info")
        return redirect(url_for("home.index"))
    flash(_("The session has been ended."), "success")
    return redirect(url_for("accounts.security"))


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions():
    require_valid(ConfirmForm())
    with transaction():
        ended = sessions.end_all(current_user, keep=current_user.current_session)
    flash(
        ngettext(
            "%(num)d other session has been ended.",
            "%(num)d other sessions have been ended.",
            ended,
        ),
        "success",
    )
    return redirect(url_for("accounts.security"))
