"""Two-factor sign-in: the second step of a login, the setup with a QR code, recovery codes,
turning it off; and the rule that sends managers and the admin to the setup until it is done."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, fresh_login_required, login_required

from crowdsource.accounts import bp, two_factor
from crowdsource.accounts.forms import TwoFactorCodeForm, TwoFactorOffForm, TwoFactorSetupForm
from crowdsource.accounts.signin import pending_second_step, sign_in
from crowdsource.db import transaction
from crowdsource.errors import DomainError, refused
from crowdsource.throttle import ClientLimit
from crowdsource.web import ConfirmForm, form_page, redirect_next, require_valid

#: the pages a manager or admin without a second factor may still open
OPEN_WITHOUT_SETUP = {
    "accounts.two_factor_settings",
    "accounts.two_factor_start",
    "accounts.two_factor_confirm",
    "accounts.logout",
    "home.set_language",
    "static",
    "bootstrap.static",
}


@bp.before_app_request
def require_two_factor_setup():
    """Managers and the admin move money: until their second factor is set up, every page
    sends them to its setup."""
    if request.endpoint in OPEN_WITHOUT_SETUP or not current_user.is_authenticated:
        return None
    if not two_factor.requires_setup(current_user):
        return None
    flash(_("Managers and the admin sign in with two factors: set up your authenticator app."))
    return redirect(url_for("accounts.two_factor_settings"))


@bp.route("/login/two-factor", methods=["GET", "POST"])
def two_factor_login():
    user, remember = pending_second_step()
    if user is None:
        flash(_("Log in again: the second step waited too long."), "info")
        return redirect(url_for("accounts.login"))
    form = TwoFactorCodeForm()
    if form.validate_on_submit():
        # Counted per account and app (a new setup starts a new count), when asked: concurrent
        # guesses get no extra tries; a right code gives its try back.
        account = f"{user.id}:{two_factor.of(user).nonce}"
        tries = ClientLimit(
            current_app, "two-factor", account, current_app.config["TWO_FACTOR_TRIES"], 900
        )
        if tries.seconds_to_wait():
            form.code.errors.append(_("Too many wrong codes. Try again in 15 minutes."))
            return render_template("accounts/two_factor_login.html", form=form), 429
        with transaction():
            right = two_factor.check(user, form.code.data)
        if right:
            if tries.spent is not None:
                tries.spent.give_back()
            sign_in(user, remember=remember)
            flash(_("You are logged in."), "success")
            return redirect_next("home.index")
        form.code.errors.append(str(two_factor.WRONG_CODE))
    return form_page(render_template("accounts/two_factor_login.html", form=form), form)


@bp.get("/account/two-factor")
@login_required
def two_factor_settings():
    found = two_factor.of(current_user)
    setup = found if found is not None and found.confirmed_at is None else None
    return render_template(
        "accounts/two_factor.html",
        enabled=found is not None and found.confirmed_at is not None,
        required=two_factor.is_required(current_user),
        setup=setup,
        qr_code=two_factor.qr_code(current_user, setup) if setup else None,
        secret=two_factor.secret_text(setup) if setup else None,
        codes_left=two_factor.unused_recovery_codes(current_user),
        setup_form=TwoFactorSetupForm(),
        off_form=TwoFactorOffForm(),
        form=ConfirmForm(),
    )


@bp.post("/account/two-factor/start")
@login_required
def two_factor_start():
    require_valid(ConfirmForm())
    try:
        with transaction():
            two_factor.begin_setup(current_user)
    except DomainError as error:
        flash(error.message, "info")
    return redirect(url_for("accounts.two_factor_settings"))


@bp.post("/account/two-factor/confirm")
@login_required
def two_factor_confirm():
    form = TwoFactorSetupForm()
    if form.validate_on_submit():
        try:
            with transaction():
                codes = two_factor.confirm_setup(current_user, form.code.data)
        except DomainError as error:
            refused(form, error)
        else:
            flash(_("Two-factor sign-in is on."), "success")
            return render_template("accounts/recovery_codes.html", codes=codes)
    setup = two_factor.of(current_user)
    if setup is None or setup.confirmed_at is not None:
        return redirect(url_for("accounts.two_factor_settings"))
    html = render_template(
        "accounts/two_factor.html",
        enabled=False,
        required=two_factor.is_required(current_user),
        setup=setup,
        qr_code=two_factor.qr_code(current_user, setup),
        secret=two_factor.secret_text(setup),
        codes_left=0,
        setup_form=form,
        off_form=TwoFactorOffForm(),
        form=ConfirmForm(),
    )
    return html, 400


@bp.post("/account/two-factor/recovery-codes")
@fresh_login_required
def two_factor_new_codes():
    require_valid(ConfirmForm())
    if not two_factor.is_enabled(current_user):
        return redirect(url_for("accounts.two_factor_settings"))
    with transaction():
        codes = two_factor.new_recovery_codes(current_user)
    return render_template("accounts/recovery_codes.html", codes=codes)


@bp.post("/account/two-factor/off")
@fresh_login_required
def two_factor_off():
    form = TwoFactorOffForm()
    if form.validate_on_submit():
        try:
            with transaction():
                two_factor.turn_off(current_user, form.password.data)
        except DomainError as error:
            flash(error.message, "danger")
        else:
            flash(_("Two-factor sign-in is off."), "success")
    else:
        flash(_("Enter your password to turn two-factor sign-in off."), "danger")
    return redirect(url_for("accounts.two_factor_settings"))
