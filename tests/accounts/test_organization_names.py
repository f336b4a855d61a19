"""Organization names: stored NFKC-normalised, and a name that looks like a registered one
(case, width, spaces, confusable letters) refused at its field, by the database's unique key of
the name (crowdsource.accounts.identity.name_key)."""

import html

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from crowdsource.accounts import identity
from crowdsource.accounts.credit_code import check_character
from crowdsource.accounts.models import Organization
from tests.helpers import form_errors, table_counts

#: names that cannot be told apart from "Haian Robotics"
HAIAN_LOOKALIKES = [
    "Hаian Robotics",  # a Cyrillic а
    "Ｈａｉａｎ Ｒｏｂｏｔｉｃｓ",  # full-width letters
    "HAIAN ROBOTICS",
    "  Haian   Robotics ",
    "Haian\u3000Robotics",  # an ideographic space
    "HaianRobotics",
    "Haian R0b0tics",  # zeros for the o's: 0 looks like O
    "Haian Rob\u200botics",  # a zero-width space
]

ALREADY_REGISTERED = (
    "This name cannot be told apart from that of Haian Robotics, already registered: "
    "it differs at most in case, width, spaces or letters that look alike."
)


def credit_code(number):
    """A valid credit code that none of CREDIT_CODES (make_org's) is."""
    first_seventeen = f"913702{number:011d}"
    return first_seventeen + check_character(first_seventeen)


#: the code of the organizations that the tests register through the form
CODE = credit_code(1)


def org_form(centers, name, credit_code=CODE):
    return {
        "name": name,
        "kind": "enterprise",
        "ownership": "",
        "credit_code": credit_code,
        "center_id": centers["qingdao"].id,
        "description": "",
    }


def typed_value(response, field):
    """The value the page's input ``field`` shows."""
    page = response.get_data(as_text=True)
    start = page.index(f'name="{field}"')
    tag = page[page.rindex("<input", 0, start) : page.index(">", start)]
    return html.unescape(tag.split('value="', 1)[1].split('"', 1)[0])


# The key.


def test_lookalike_names_share_a_key_and_different_names_do_not():
    key = identity.name_key("Haian Robotics")
    assert [identity.name_key(name) for name in HAIAN_LOOKALIKES] == [key] * len(HAIAN_LOOKALIKES)
    for other in ["Haian Robotic", "Haian Marine", "Hall Robotics", "海安机器人"]:
        assert identity.name_key(other) != key
    assert identity.name_key("青岛 海澜智能") == identity.name_key("青岛海澜智能")


ascii_text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30)


@given(ascii_text)
def test_full_width_and_case_never_change_a_key(text):
    full_width = "".join(chr(ord(character) + 0xFEE0) for character in text)
    assert identity.name_key(full_width) == identity.name_key(text)
    assert identity.name_key(text.upper()) == identity.name_key(text.lower())


@given(st.text(max_size=40))
def test_a_normalised_name_keeps_its_key(text):
    assert identity.name_key(identity.normalize_name(text)) == identity.name_key(text)


# Registering and renaming.


def test_organization_names_are_stored_nfkc_normalised(client, db, make_user, login, centers):
    login(make_user())
    response = client.post("/orgs/new", data=org_form(centers, "ＡＢＣ科技\u3000 有限公司"))
    assert response.status_code == 302
    organization = db.session.scalar(sa.select(Organization))
    assert organization.name == "ABC科技 有限公司"
    assert organization.name_key == identity.name_key("abc科技有限公司")


def test_a_name_like_a_registered_one_is_refused_at_the_field_as_typed(
    client, db, make_user, make_org, login, centers
):
    make_org(make_user(), name="Haian Robotics")
    login(make_user())
    before = table_counts()
    for name in HAIAN_LOOKALIKES:
        response = client.post("/orgs/new", data=org_form(centers, name))
        assert response.status_code == 400, name
        assert form_errors(response)["name"] == [ALREADY_REGISTERED], name
        assert typed_value(response, "name") == name
    assert table_counts() == before
    response = client.post("/orgs/new", data=org_form(centers, "Haian Marine"))
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Organization.name).filter_by(name="Haian Marine"))


def test_a_rename_to_a_lookalike_is_refused_but_its_own_name_may_change_case(
    client, db, make_user, make_org, login, centers
):
    make_org(make_user(), name="Haian Robotics")
    owner = make_user()
    organization = make_org(owner, name="Haian Marine")
    code = organization.credit_code
    login(owner)
    url = f"/orgs/{organization.id}/edit"
    for name in ["Hаian Robotics", "ＨＡＩＡＮ ROBOTICS"]:
        response = client.post(url, data=org_form(centers, name, credit_code=code))
        assert response.status_code == 400
        assert form_errors(response)["name"] == [ALREADY_REGISTERED]
        assert typed_value(response, "name") == name
        db.session.refresh(organization)
        assert organization.name == "Haian Marine"
    response = client.post(url, data=org_form(centers, "HAIAN  MARINE", credit_code=code))
    assert response.status_code == 302
    db.session.refresh(organization)
    assert organization.name == "HAIAN MARINE"
    assert organization.name_key == identity.name_key("Haian Marine")


def test_a_clash_of_credit_codes_is_still_told_at_the_credit_code(
    client, db, make_user, make_org, login, centers
):
    taken = make_org(make_user(), name="Haian Robotics").credit_code
    owner = make_user()
    organization = make_org(owner, name="Zibo Ceramics")
    login(owner)
    message = "An organization with this unified social credit code is already registered."
    response = client.post("/orgs/new", data=org_form(centers, "Weihai Marine", taken))
    assert response.status_code == 400
    assert form_errors(response) == {"credit_code": [message]}
    # An edit too: the clash is looked up after the refused flush, which must not have broken
    # the transaction (the edit's changes are made inside the savepoint).
    response = client.post(
        f"/orgs/{organization.id}/edit", data=org_form(centers, "Zibo Ceramics", taken)
    )
    assert response.status_code == 400
    assert form_errors(response) == {"credit_code": [message]}
    db.session.refresh(organization)
    assert organization.credit_code != taken


def test_the_unique_index_refuses_a_lookalike_inserted_around_the_service(
    db, make_user, make_org, centers
):
    existing = make_org(make_user(), name="Haian Robotics")
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            sa.insert(Organization).values(
                name="ＨＡＩＡＮ ROBOTICS",
                name_key=identity.name_key("ＨＡＩＡＮ ROBOTICS"),
                kind="enterprise",
                credit_code=credit_code(2),
                center_id=centers["qingdao"].id,
                description="",
                created_at=existing.created_at,
            )
        )
    assert db.session.scalar(sa.select(sa.func.count(Organization.id))) == 1
