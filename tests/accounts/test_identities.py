"""Identities that cannot be confused: e-mail addresses compared and stored NFKC-normalised and
case-folded, wherever one is looked up (registration, login and its throttle, invitations,
password rules, the create-admin command), and display names stored NFKC-normalised."""

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from crowdsource.accounts import identity
from crowdsource.accounts.models import Invitation, User
from crowdsource.accounts.services import find_user_by_email
from crowdsource.errors import Conflict
from tests.helpers import PASSWORD, form_errors, table_counts

#: ways of writing alice@example.com: a full-width Ａ, capitals, a full-width ｅ in the domain
ALICE_LOOKALIKES = ["Ａlice@example.com", "ALICE@EXAMPLE.COM", "alice@ｅxample.com"]


def register(client, email, display_name="Alice", password="a sturdy passphrase"):
    return client.post(
        "/register",
        data={
            "email": email,
            "display_name": display_name,
            "password": password,
            "confirm": password,
            "locale": "en",
        },
    )


# The rules themselves.


def test_addresses_fold_width_and_case():
    for address in ALICE_LOOKALIKES:
        assert identity.normalize_email(address) == "alice@example.com"
    assert identity.normalize_email("\u3000Li.Wei@Example.COM ") == "li.wei@example.com"


def test_names_are_nfkc_with_single_spaces():
    assert identity.normalize_name("ＡＢＣ科技") == "ABC科技"
    assert identity.normalize_name(" Qingdao\u3000 Haian\t Robotics ") == "Qingdao Haian Robotics"
    assert identity.normalize_name("青岛㈱") == "青岛(株)"


@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30))
def test_a_full_width_address_is_its_ascii_form(text):
    full_width = "".join(chr(ord(character) + 0xFEE0) for character in text)
    assert identity.normalize_email(full_width) == identity.normalize_email(text) == text.lower()


@given(st.text(max_size=40))
def test_normal_forms_are_stable(text):
    email = identity.normalize_email(text)
    assert identity.normalize_email(email) == email
    name = identity.normalize_name(text)
    assert identity.normalize_name(name) == name


# E-mail addresses.


def test_lookalike_addresses_cannot_register_beside_alice_and_all_log_in_as_alice(
    client, db, make_user
):
    alice = make_user(email="alice@example.com", name="Alice")
    before = table_counts()
    for address in ALICE_LOOKALIKES:
        response = register(client, address)
        assert response.status_code == 400
        assert form_errors(response)["email"] == ["An account with this email already exists."]
    assert table_counts() == before
    for address in ALICE_LOOKALIKES:
        client.post("/logout")
        response = client.post("/login", data={"email": address, "password": PASSWORD})
        assert response.status_code == 302, address
        assert "Alice" in client.get("/").get_data(as_text=True)
    assert find_user_by_email("Ａlice@example.com") == alice


def test_an_address_is_stored_folded_and_so_are_its_login_attempts(client, db):
    assert register(client, "Ｂob@Ｅxample.COM").status_code == 302
    assert db.session.scalar(sa.select(User.email)) == "bob@example.com"
    client.post("/logout")
    client.post("/login", data={"email": "ＢＯＢ@example.com", "password": "wrong password!"})
    client.post("/login", data={"email": "bob@EXAMPLE.com", "password": "wrong password!"})
    attempts = db.session.scalars(sa.text("SELECT email FROM login_attempts")).all()
    assert attempts == ["bob@example.com", "bob@example.com"]


def test_the_service_refuses_a_lookalike_address_without_the_form(app, db, make_user):
    make_user(email="alice@example.com")
    with pytest.raises(Conflict, match=r"An account with this email already exists\.") as refusal:
        make_user(email="Ａlice@example.com")
    assert refusal.value.field == "email"
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_an_invitation_to_a_full_width_address_reaches_the_same_user(
    client, db, make_user, make_org, login, outbox
):
    owner, alice = make_user(), make_user(email="alice@example.com", name="Alice")
    organization = make_org(owner)
    login(owner)
    response = client.post(
        f"/orgs/{organization.id}/members", data={"email": "Ａlice@ｅxample.com", "role": "member"}
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Invitation.invitee_id)) == alice.id
    assert outbox[0].to == ["alice@example.com"]


def test_a_password_like_the_address_in_another_width_is_refused(client, db, make_user, login):
    response = register(client, "li.wei@example.com", password="ＬＩ.ＷＥＩ@example.com")
    assert form_errors(response)["password"] == ["Do not use your email or name as your password."]
    user = make_user(email="zhao.lei@example.com", name="Zhao Lei")
    login(user)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "ＺＨＡＯ.ＬＥＩ@ＥＸＡＭＰＬＥ.ＣＯＭ",
            "confirm": "ＺＨＡＯ.ＬＥＩ@ＥＸＡＭＰＬＥ.ＣＯＭ",
        },
    )
    assert response.status_code == 400
    assert form_errors(response)["new_password"] == [
        "Do not use your email or name as your password."
    ]


def test_create_admin_finds_the_account_of_a_lookalike_address(app, db, make_user):
    alice = make_user(email="alice@example.com")
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "ＡLICE@example.com", "--password-stdin"],
        input="an admin passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "alice@example.com is an admin (an existing account" in result.output
    db.session.expire_all()
    assert alice.is_admin
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1


# Display names.


def test_display_names_are_stored_nfkc_normalised(client, db, login):
    assert register(client, "li@example.com", display_name="Ｌｉ\u3000 Ｗｅｉ").status_code == 302
    user = db.session.scalar(sa.select(User))
    assert user.display_name == "Li Wei"
    response = client.post(
        "/account/profile",
        data={"display_name": " ＡＢＣ科技 ", "locale": "en", "timezone": "Asia/Shanghai"},
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.display_name == "ABC科技"


def test_a_display_name_of_spaces_only_is_refused(client, db):
    before = table_counts()
    response = register(client, "li@example.com", display_name="\u3000 \u3000")
    assert response.status_code == 400
    assert form_errors(response)["display_name"] == ["This field is required."]
    assert table_counts() == before
