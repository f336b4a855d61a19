"""Organizations: registration with a valid credit code, editing by owners only, invitations,
leaving, and the rule that an organization always keeps an owner."""

import sqlalchemy as sa

from crowdsource.accounts import authz
from crowdsource.accounts.models import Invitation, Membership, Organization, Role
from tests.helpers import CREDIT_CODES, form_errors, table_counts


def org_form(centers, **fields):
    data = {
        "name": "Qilu Technology Transfer Center",
        "kind": "agency",
        "ownership": "private",
        "credit_code": "52370000mjd61234xe",
        "center_id": centers["qingdao"].id,
        "description": "We broker **transfers**.",
    }
    data.update(fields)
    return data


def test_registering_an_agency_makes_the_creator_its_owner(client, db, make_user, login, centers):
    user = make_user()
    login(user)
    response = client.post("/orgs/new", data=org_form(centers))
    assert response.status_code == 302
    organization = db.session.scalar(sa.select(Organization))
    assert organization.credit_code == "52370000MJD61234XE"
    assert str(organization.ownership) == "private"
    assert authz.is_owner(user, organization)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Qilu Technology Transfer Center" in page
    assert "<strong>transfers</strong>" in page


def test_invalid_credit_codes_are_refused_with_the_reason(client, db, make_user, login, centers):
    login(make_user())
    before = table_counts()
    cases = {
        "91370200MA3C9F2X3": "The code has exactly 18 characters.",
        "91370200MA3C9F2XI8": (
            "The code uses only digits and capital letters other than I, O, Z, S and V."
        ),
        "9137020AMA3C9F2X38": (
            "Characters 3 to 8 are the administrative division code: digits only."
        ),
        "91370200MA3C9F2X39": (
            "The check character does not match: please check the code for typos."
        ),
    }
    for code, message in cases.items():
        response = client.post("/orgs/new", data=org_form(centers, credit_code=code))
        assert response.status_code == 400
        assert form_errors(response)["credit_code"] == [message]
    assert table_counts() == before


def test_an_agency_must_state_its_ownership(client, db, make_user, login, centers):
    login(make_user())
    response = client.post("/orgs/new", data=org_form(centers, ownership=""))
    assert response.status_code == 400
    assert form_errors(response)["ownership"] == ["A service agency must state its ownership type."]


def test_a_credit_code_is_registered_once(client, db, make_user, make_org, login, centers):
    make_org(make_user())  # takes CREDIT_CODES[0]
    login(make_user())
    before = table_counts()
    response = client.post(
        "/orgs/new", data=org_form(centers, kind="enterprise", credit_code=CREDIT_CODES[0])
    )
    assert response.status_code == 400
    assert form_errors(response)["credit_code"] == [
        "An organization with this unified social credit code is already registered."
    ]
    assert table_counts() == before


def test_owner_edits_but_another_organizations_member_gets_403(
    client, db, make_user, make_org, login, centers
):
    owner, stranger = make_user(), make_user()
    organization = make_org(owner, name="Haian Robotics")
    make_org(stranger, name="Stranger Co")
    login(stranger)
    assert client.get(f"/orgs/{organization.id}/edit").status_code == 403
    response = client.post(
        f"/orgs/{organization.id}/edit",
        data=org_form(centers, name="Hijacked", kind="enterprise", credit_code=CREDIT_CODES[3]),
    )
    assert response.status_code == 403
    db.session.refresh(organization)
    assert organization.name == "Haian Robotics"
    login(owner)
    response = client.post(
        f"/orgs/{organization.id}/edit",
        data=org_form(
            centers,
            name="Haian Robotics Ltd",
            kind="enterprise",
            credit_code=organization.credit_code,
        ),
    )
    assert response.status_code == 302
    db.session.refresh(organization)
    assert organization.name == "Haian Robotics Ltd"


def test_a_plain_member_cannot_edit_or_invite(client, db, make_user, make_org, login):
    owner, member, outsider = make_user(), make_user(), make_user()
    organization = make_org(owner)
    db.session.add(Membership(user=member, organization=organization, role=Role.MEMBER))
    db.session.commit()
    login(member)
    assert client.get(f"/orgs/{organization.id}/edit").status_code == 403
    assert client.get(f"/orgs/{organization.id}/members").status_code == 200
    before = table_counts()
    response = client.post(
        f"/orgs/{organization.id}/members", data={"email": outsider.email, "role": "member"}
    )
    assert response.status_code == 403
    assert table_counts() == before


def test_unknown_organization_is_404(client, db, make_user, login):
    login(make_user())
    assert client.get("/orgs/999").status_code == 404
    assert client.get("/orgs/999/edit").status_code == 404
    assert client.post("/orgs/999/leave").status_code == 404


def test_invitation_by_email_accepted_makes_a_member_and_sends_mail(
    client, db, make_user, make_org, login, outbox
):
    owner = make_user(name="Li Wei")
    invitee = make_user(email="zhang.min@example.com", name="Zhang Min", locale="zh_CN")
    organization = make_org(owner, name="Haian Robotics")
    login(owner)
    response = client.post(
        f"/orgs/{organization.id}/members",
        data={"email": "Zhang.Min@example.com", "role": "member"},
    )
    assert response.status_code == 302
    assert len(outbox) == 1
    assert outbox[0].to == ["zhang.min@example.com"]
    assert "Haian Robotics" in outbox[0].subject
    assert "http://crowdsource.test/invitations" in outbox[0].body  # PUBLIC_URL
    invitation = db.session.scalar(sa.select(Invitation))

    login(invitee)
    assert "Haian Robotics" in client.get("/invitations").get_data(as_text=True)
    response = client.post(f"/invitations/{invitation.id}/accept")
    assert response.status_code == 302
    assert authz.can_act_for(invitee, organization)
    assert not authz.is_owner(invitee, organization)
    # Accepting twice is refused and changes nothing.
    assert client.post(f"/invitations/{invitation.id}/accept").status_code == 409


def test_only_the_invitee_can_answer_an_invitation(client, db, make_user, make_org, login):
    owner, invitee, intruder = make_user(), make_user(), make_user()
    organization = make_org(owner)
    login(owner)
    client.post(f"/orgs/{organization.id}/members", data={"email": invitee.email, "role": "owner"})
    invitation = db.session.scalar(sa.select(Invitation))
    login(intruder)
    assert client.post(f"/invitations/{invitation.id}/accept").status_code == 403
    assert not authz.can_act_for(intruder, organization)
    login(invitee)
    client.post(f"/invitations/{invitation.id}/decline")
    assert not authz.can_act_for(invitee, organization)


def test_inviting_unregistered_members_or_twice_gets_a_message(
    client, db, make_user, make_org, login
):
    owner, invitee = make_user(), make_user()
    organization = make_org(owner)
    login(owner)
    url = f"/orgs/{organization.id}/members"
    response = client.post(url, data={"email": "ghost@example.com", "role": "member"})
    assert form_errors(response)["email"] == [
        "Nobody has registered with this email. Ask them to register first."
    ]
    assert client.post(url, data={"email": invitee.email, "role": "member"}).status_code == 302
    response = client.post(url, data={"email": invitee.email, "role": "member"})
    assert form_errors(response)["email"] == [f"{invitee.display_name} has already been invited."]
    response = client.post(url, data={"email": owner.email, "role": "member"})
    assert form_errors(response)["email"] == [f"{owner.display_name} is already a member."]
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 1


def test_members_leave_but_the_last_owner_cannot(client, db, make_user, make_org, login):
    owner, member = make_user(), make_user()
    organization = make_org(owner)
    db.session.add(Membership(user=member, organization=organization, role=Role.MEMBER))
    db.session.commit()

    login(owner)
    response = client.post(f"/orgs/{organization.id}/leave")
    assert response.status_code == 400
    assert "An organization needs at least one owner." in response.get_data(as_text=True)
    assert authz.is_owner(owner, organization)

    login(member)
    assert client.post(f"/orgs/{organization.id}/leave").status_code == 302
    assert not authz.can_act_for(member, organization)


def test_owner_hands_over_then_leaves(client, db, make_user, make_org, login):
    owner, member = make_user(), make_user()
    organization = make_org(owner)
    membership = Membership(user=member, organization=organization, role=Role.MEMBER)
    db.session.add(membership)
    db.session.commit()
    login(owner)
    client.post(f"/memberships/{membership.id}/role", data={"role": "owner"})
    assert authz.is_owner(member, organization)
    assert client.post(f"/orgs/{organization.id}/leave").status_code == 302
    assert not authz.can_act_for(owner, organization)
    # The remaining (last) owner cannot be demoted.
    login(member)
    response = client.post(f"/memberships/{membership.id}/role", data={"role": "member"})
    assert response.status_code == 400
    assert authz.is_owner(member, organization)


def test_owner_removes_a_member_but_not_the_last_owner(client, db, make_user, make_org, login):
    owner, member = make_user(), make_user()
    organization = make_org(owner)
    membership = Membership(user=member, organization=organization, role=Role.MEMBER)
    db.session.add(membership)
    db.session.commit()
    owner_membership = authz.membership_of(owner, organization)
    login(member)
    assert client.post(f"/memberships/{owner_membership.id}/remove").status_code == 403
    login(owner)
    assert client.post(f"/memberships/{owner_membership.id}/remove").status_code == 400
    assert client.post(f"/memberships/{membership.id}/remove").status_code == 302
    assert not authz.can_act_for(member, organization)
