"""Registration, login, logout, password change and profiles (a forgotten password, the
address and the sessions: security_views)."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, fresh_login_required, login_required

from crowdsource.accounts import bp, links, services
from crowdsource.accounts.forms import (
    ChangePasswordForm,
    LoginForm,
    ProfileForm,
    RegistrationForm,
)
from crowdsource.accounts.models import Membership, User
from crowdsource.accounts.signin import after_password, sign_in, sign_out
from crowdsource.db import db, transaction
from crowdsource.errors import DomainError, TooManyAttempts, refused
from crowdsource.i18n import current_language
from crowdsource.throttle import client_address, limit_content
from crowdsource.web import ConfirmForm, form_page, get_or_404, redirect_next


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = RegistrationForm()
    if request.method == "GET":
        form.locale.data = current_language()
    if form.validate_on_submit():
        try:
            limit_content("registrations")
            with transaction():
                user = services.register_user(
                    form.email.data, form.password.data, form.display_name.data, form.locale.data
                )
                links.send_verification(user)
        except DomainError as error:
            if refused(form, error) == TooManyAttempts.status_code:
                return render_template("accounts/register.html", form=form), 429
        else:
            sign_in(user)
            flash(_("Welcome to Crowdsource, %(name)s!", name=user.display_name), "success")
            flash(
                _(
                    "We have sent a link to %(email)s: open it to confirm your address, then "
                    "you can post tasks and bid.",
                    email=user.email,
                ),
                "info",
            )
            return redirect(url_for("home.index"))
    return form_page(render_template("accounts/register.html", form=form), form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        with transaction():
            user = services.authenticate(form.email.data, form.password.data, client_address())
        if user is not None:
            second_step = after_password(user, remember=form.remember.data)
            if second_step is not None:
                return second_step
            flash(_("You are logged in."), "success")
            return redirect_next("home.index")
        elif services.is_suspended_with(form.email.data, form.password.data):
            form.password.errors.append(
                _("This account is suspended. Write to the platform if you think it is wrong.")
            )
        else:
            form.password.errors.append(_("Wrong email or password."))
    return form_page(render_template("accounts/login.html", form=form), form)


@bp.post("/logout")
def logout():
    ConfirmForm().validate_on_submit()  # the CSRF check itself runs for every POST
    sign_out()
    session.pop("_flashes", None)  # what was meant for this user is not shown to the next
    flash(_("You are logged out."), "info")
    return redirect(url_for("home.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@fresh_login_required
def change_password():
    form = ChangePasswordForm(current_user)
    if form.validate_on_submit():
        try:
            with transaction():
                services.change_password(
                    current_user, form.current_password.data, form.new_password.data
                )
        except DomainError as error:
            refused(form, error)
        else:
            flash(
                _("Your password has been changed. Other sessions have been logged out."), "success"
            )
            return redirect(url_for("accounts.edit_profile"))
    return form_page(render_template("accounts/change_password.html", form=form), form)


@bp.route("/account/profile", methods=["GET", "POST"])
@login_required
def edit_profile():
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.skills.data = ", ".join(current_user.skills or [])
    if form.validate_on_submit():
        try:
            with transaction():
                services.update_profile(
                    current_user,
                    form.display_name.data,
                    form.bio.data,
                    services.parse_skills(form.skills.data),
                    form.locale.data,
                    form.timezone.data,
                    form.email_notifications.data,
                )
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Your profile has been saved."), "success")
            return redirect(url_for("accounts.profile", user_id=current_user.id))
    return form_page(render_template("accounts/edit_profile.html", form=form), form)


@bp.get("/users/<int:user_id>")
def profile(user_id):
    user = get_or_404(User, user_id)
    if not user.active:
        abort(404)
    memberships = db.session.scalars(
        sa.select(Membership)
        .filter_by(user_id=user.id)
        .options(sa.orm.joinedload(Membership.organization))
    ).all()
    return render_template("accounts/profile.html", user=user, memberships=memberships)
