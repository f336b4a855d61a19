"""Registration: unique email ignoring case, password policy, preferred language."""

import sqlalchemy as sa

from crowdsource.accounts.models import User
from tests.helpers import form_errors, table_counts


def register(client, **fields):
    data = {
        "email": "Li.Wei@Example.com",
        "display_name": "Li Wei",
        "password": "a sturdy passphrase",
        "confirm": "a sturdy passphrase",
        "locale": "zh_CN",
    }
    data.update(fields)
    return client.post("/register", data=data)


def test_registration_creates_an_account_and_logs_in(client, db):
    response = register(client)
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User))
    assert user.email == "li.wei@example.com"
    assert user.display_name == "Li Wei"
    assert str(user.locale) == "zh_CN"
    assert user.password_hash.startswith("scrypt:")
    assert "a sturdy passphrase" not in user.password_hash
    home = client.get("/")
    assert "Li Wei" in home.get_data(as_text=True)
    assert "退出" in home.get_data(as_text=True)  # the user's preference (Chinese) wins


def test_duplicate_email_in_another_case_is_refused_and_nothing_stored(client, db, make_user):
    make_user(email="li.wei@example.com")
    before = table_counts()
    response = register(client, email="LI.WEI@EXAMPLE.COM")
    assert response.status_code == 400
    assert form_errors(response)["email"] == ["An account with this email already exists."]
    assert table_counts() == before


def test_short_password_is_refused(client, db):
    response = register(client, password="short pw", confirm="short pw")
    assert response.status_code == 400
    assert form_errors(response)["password"] == ["Use at least 10 characters."]
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_common_password_is_refused_even_when_long_enough(client, db):
    for common in ("1234567890", "Password123", "qwertyuiop"):
        response = register(client, password=common, confirm=common)
        assert response.status_code == 400
        assert form_errors(response)["password"] == [
            "This password is too common. Choose one that is harder to guess."
        ]
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_password_equal_to_email_is_refused(client, db):
    response = register(
        client,
        email="engineer.one@example.com",
        password="engineer.one@example.com",
        confirm="engineer.one@example.com",
    )
    assert form_errors(response)["password"] == ["Do not use your email or name as your password."]


def test_mismatched_confirmation_and_bad_email_get_field_messages(client, db):
    response = register(client, email="not-an-email", confirm="something else entirely")
    errors = form_errors(response)
    assert errors["email"] == ["Enter a valid email address."]
    assert errors["confirm"] == ["The passwords do not match."]


def test_field_messages_come_in_the_users_language(client, db):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN,zh;q=0.9"
    response = register(client, password="short pw", confirm="short pw", email="")
    errors = form_errors(response)
    assert errors["email"] == ["此项为必填项。"]
    assert errors["password"] == ["密码至少需要 10 个字符。"]
