"""Two-factor sign-in (TOTP): required for managers and the admin, optional for the others,
with recovery codes; a code counts once."""

import re

import pyotp
import pytest
import sqlalchemy as sa

from crowdsource.accounts import two_factor
from crowdsource.accounts.models import RecoveryCode, TwoFactor
from crowdsource.db import db, utcnow
from tests.helpers import PASSWORD, form_errors


@pytest.fixture
def staff_rule(app, monkeypatch):
    """The platform's rule as in production: staff must use a second factor."""
    monkeypatch.setitem(app.config, "TWO_FACTOR_FOR_STAFF", True)


def password_step(client, user, **extra):
    client.post("/logout")
    return client.post("/login", data={"email": user.email, "password": PASSWORD, **extra})


def secret_of(page):
    return re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")


def turn_on(client, user):
    """Set up the app through the pages; returns (the pyotp TOTP, the recovery codes)."""
    client.post("/account/two-factor/start")
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "<svg" in page and "QR code for your authenticator app" in page
    totp = pyotp.TOTP(secret_of(page))
    response = client.post("/account/two-factor/confirm", data={"code": totp.now()})
    assert response.status_code == 200
    codes = re.findall(r"<li>([A-Z2-7]{5}-[A-Z2-7]{5})</li>", response.get_data(as_text=True))
    assert len(codes) == 10
    return totp, codes


def signed_in(client):
    return client.get("/account/profile").status_code == 200


def test_a_manager_must_set_up_a_second_factor_before_anything_else(
    client, people, login, staff_rule, clock
):
    login(people.managers["qingdao"])
    response = client.get("/manage/payments")
    assert response.status_code == 302 and response.location.endswith("/account/two-factor")
    totp, _ = turn_on(client, people.managers["qingdao"])
    assert client.get("/manage/payments").status_code == 200
    # the next sign-in asks for the code after the password
    response = password_step(client, people.managers["qingdao"])
    assert response.location.endswith("/login/two-factor") and not signed_in(client)
    clock.advance(seconds=30)  # the setup's code is spent: the next one
    response = client.post("/login/two-factor", data={"code": totp.now()})
    assert response.status_code == 302 and signed_in(client)


def test_the_admin_cannot_turn_the_second_factor_off(client, people, login, staff_rule):
    login(people.admin)
    turn_on(client, people.admin)
    response = client.post(
        "/account/two-factor/off", data={"password": PASSWORD}, follow_redirects=True
    )
    assert "Managers and the admin must sign in with two factors." in response.get_data(
        as_text=True
    )
    assert two_factor.is_enabled(people.admin)


def test_a_wrong_code_is_refused_at_the_field_and_signs_nobody_in(client, make_user, login):
    user = make_user()
    login(user)
    totp, _ = turn_on(client, user)
    password_step(client, user)
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    response = client.post("/login/two-factor", data={"code": wrong})
    assert response.status_code == 400
    assert form_errors(response)["code"] == [
        "This code is not right (or was used already). Enter the current one."
    ]
    assert not signed_in(client)


def test_a_code_counts_once(client, make_user, login, clock):
    user = make_user()
    login(user)
    clock.freeze()
    totp, _ = turn_on(client, user)
    password_step(client, user)
    # the code that confirmed the setup is spent: within its 30 seconds it does not sign in
    assert client.post("/login/two-factor", data={"code": totp.now()}).status_code == 400
    clock.advance(seconds=30)
    code = totp.now()
    assert client.post("/login/two-factor", data={"code": code}).status_code == 302
    password_step(client, user)
    assert client.post("/login/two-factor", data={"code": code}).status_code == 400


def test_a_recovery_code_signs_in_once(client, make_user, login):
    user = make_user()
    login(user)
    _, codes = turn_on(client, user)
    password_step(client, user)
    assert client.post("/login/two-factor", data={"code": codes[3].lower()}).status_code == 302
    password_step(client, user)
    assert client.post("/login/two-factor", data={"code": codes[3]}).status_code == 400
    assert client.post("/login/two-factor", data={"code": codes[4]}).status_code == 302
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert not any(code.replace("-", "") in value for code in codes for value in stored)


def test_new_recovery_codes_replace_the_old_ones(client, make_user, login):
    user = make_user()
    login(user)
    _, old = turn_on(client, user)
    response = client.post("/account/two-factor/recovery-codes")
    new = re.findall(r"<li>([A-Z2-7]{5}-[A-Z2-7]{5})</li>", response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    password_step(client, user)
    assert client.post("/login/two-factor", data={"code": old[0]}).status_code == 400
    assert client.post("/login/two-factor", data={"code": new[0]}).status_code == 302


def test_wrong_codes_are_limited_per_account(app, client, make_user, login, monkeypatch):
    monkeypatch.setitem(app.config, "TWO_FACTOR_TRIES", 3)
    user = make_user()
    login(user)
    totp, _ = turn_on(client, user)
    password_step(client, user)
    for _ in range(3):
        assert client.post("/login/two-factor", data={"code": "000000"}).status_code == 400
    response = client.post("/login/two-factor", data={"code": totp.now()})
    assert response.status_code == 429
    assert form_errors(response)["code"] == ["Too many wrong codes. Try again in 15 minutes."]
    assert not signed_in(client)


def test_the_second_step_waits_a_few_minutes_only(app, client, make_user, login, clock):
    user = make_user()
    login(user)
    totp, _ = turn_on(client, user)
    password_step(client, user)
    clock.advance(minutes=app.config["TWO_FACTOR_PENDING_MINUTES"], seconds=1)
    response = client.post("/login/two-factor", data={"code": totp.now()})
    assert response.status_code == 302 and response.location.endswith("/login")
    assert not signed_in(client)


def test_the_second_step_cannot_be_reached_without_the_password(client, make_user, login):
    user = make_user()
    login(user)
    totp, _ = turn_on(client, user)
    client.post("/logout")
    response = client.post("/login/two-factor", data={"code": totp.now()})
    assert response.status_code == 302 and not signed_in(client)


def test_an_ordinary_user_may_turn_it_off_with_the_password(client, make_user, login):
    user = make_user()
    login(user)
    turn_on(client, user)
    response = client.post("/account/two-factor/off", data={"password": "wrong password!"})
    assert two_factor.is_enabled(user)
    response = client.post("/account/two-factor/off", data={"password": PASSWORD})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(TwoFactor)) is None
    assert password_step(client, user).status_code == 302 and signed_in(client)


def test_a_wrong_first_code_keeps_the_setup_on_the_page(client, make_user, login):
    user = make_user()
    login(user)
    client.post("/account/two-factor/start")
    response = client.post("/account/two-factor/confirm", data={"code": "12345"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<svg" in page and 'value="12345"' in page
    assert not two_factor.is_enabled(user)


def test_the_secret_is_not_stored(app, make_user):
    user = make_user()
    with app.test_request_context():
        found = two_factor.begin_setup(user)
        secret = two_factor.secret_text(found).replace(" ", "")
    row = db.session.scalar(sa.select(TwoFactor))
    assert secret not in row.nonce and len(secret) == 32
    assert found.created_at <= utcnow()


def test_a_password_reset_still_asks_for_the_second_factor(client, make_user, login, outbox):
    user = make_user()
    login(user)
    turn_on(client, user)
    client.post("/logout")
    client.post("/password/forgot", data={"email": user.email})
    path = re.search(r"http://crowdsource\.test(/password/reset/\S+)", outbox[-1].body).group(1)
    new = "a fresh and long passphrase"
    response = client.post(path, data={"password": new, "confirm": new})
    assert response.status_code == 302 and response.location.endswith("/login/two-factor")
    assert not signed_in(client)  # the mailbox alone signs nobody in
