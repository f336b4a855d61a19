"""Flask commands: centers add/list, users create-admin and make-manager, seed-demo."""

import sqlalchemy as sa

from crowdsource.accounts import authz
from crowdsource.accounts.centers import find_center
from crowdsource.accounts.models import Center, Membership, Organization, User
from crowdsource.accounts.services import find_user_by_email
from tests.helpers import table_counts


def test_centers_add_builds_the_tree(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["centers", "add", "shandong", "山东省", "Shandong", "--level", "province"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "centers",
            "add",
            "qingdao",
            "青岛市",
            "Qingdao",
            "--level",
            "city",
            "--parent",
            "shandong",
        ]
    )
    assert result.exit_code == 0, result.output
    assert find_center("qingdao").parent.code == "shandong"
    result = runner.invoke(args=["centers", "list"])
    assert "qingdao  青岛市 / Qingdao" in result.output


def test_centers_add_refuses_a_wrong_level_with_a_message(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["centers", "add", "qingdao", "青岛市", "Qingdao", "--level", "city"]
    )
    assert result.exit_code != 0
    # Commands speak the platform's default language (Chinese).
    assert "市级创新中心必须隶属于省级创新中心。" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Center.id))) == 0


def test_create_admin_and_make_manager(app, db, centers):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create-admin", "root@example.com", "--password", "an admin passphrase"]
    )
    assert result.exit_code == 0, result.output
    admin = find_user_by_email("root@example.com")
    assert admin.is_admin
    result = runner.invoke(args=["users", "make-manager", "root@example.com", "青岛市"])
    assert result.exit_code == 0, result.output
    assert authz.managed_centers(admin) == [centers["qingdao"]]
    result = runner.invoke(args=["users", "make-manager", "nobody@example.com", "qingdao"])
    assert result.exit_code != 0 and "No user with email nobody@example.com." in result.output


def test_seed_demo_is_idempotent(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).output.strip() == "Demo data created."
    counts = table_counts()
    assert runner.invoke(args=["seed-demo"]).output.strip() == "Demo data already present."
    assert table_counts() == counts
    assert {c.code for c in db.session.scalars(sa.select(Center))} >= {
        "shandong",
        "jinan",
        "qingdao",
        "zibo",
        "yantai",
        "weifang",
        "weihai",
        "laoshan",
    }
    enterprise = db.session.scalar(sa.select(Organization).filter_by(kind="enterprise"))
    agency = db.session.scalar(sa.select(Organization).filter_by(kind="agency"))
    assert len(enterprise.memberships) == 2 and len(agency.memberships) == 1
    manager = find_user_by_email("manager@example.com")
    assert [c.code for c in authz.managed_centers(manager)] == ["qingdao"]
    assert find_user_by_email("admin@example.com").is_admin
    solver = find_user_by_email("solver@example.com")
    assert db.session.scalar(sa.select(Membership).filter_by(user_id=solver.id)) is None
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 6


def test_demo_logins_work(app, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    from crowdsource.demo import DEMO_PASSWORD, USERS

    for email, *_ in USERS:
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        client.post("/logout")
