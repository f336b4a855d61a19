"""Profiles: editing one's own, the public page with bio, skills and organizations."""

from tests.helpers import form_errors


def profile_form(**fields):
    data = {
        "display_name": "Zhao Lei",
        "bio": "Ten years of **CFD**. <script>alert('x')</script>",
        "skills": "CFD， 机器视觉、Python, cfd",
        "locale": "en",
        "timezone": "Asia/Shanghai",
        "email_notifications": "y",
    }
    data.update(fields)
    return data


def test_edit_profile_and_see_it_in_public(app, client, db, make_user, make_org, login):
    user = make_user()
    make_org(user, name="Haian Robotics")
    login(user)
    response = client.post("/account/profile", data=profile_form())
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.skills == ["CFD", "机器视觉", "Python"]

    anonymous = app.test_client()
    page = anonymous.get(f"/users/{user.id}", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Zhao Lei" in html and "<strong>CFD</strong>" in html
    assert "<script>alert" not in html
    assert "机器视觉" in html and "Haian Robotics" in html
    assert user.email not in html  # the email is not public


def test_profile_refuses_an_unknown_time_zone_and_too_many_skills(client, db, make_user, login):
    user = make_user()
    login(user)
    response = client.post("/account/profile", data=profile_form(timezone="Mars/Olympus"))
    assert response.status_code == 400
    assert "timezone" in form_errors(response)
    skills = ", ".join(f"skill {n}" for n in range(25))
    response = client.post("/account/profile", data=profile_form(skills=skills))
    assert form_errors(response)["skills"] == ["List at most 20 skills."]
    db.session.refresh(user)
    assert user.skills == [] and user.display_name != "Zhao Lei"


def test_unknown_user_is_404(client):
    assert client.get("/users/4242").status_code == 404
