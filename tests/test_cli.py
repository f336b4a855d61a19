"""Flask commands: centers add/list, users create-admin and make-manager, seed-demo."""

import collections
import contextvars
import os
import re
import select
import sys
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from crowdsource import demo, demo_market
from crowdsource.accounts import authz
from crowdsource.accounts.centers import find_center
from crowdsource.accounts.models import (
    Center,
    Membership,
    Organization,
    User,
    Verification,
    VerificationStatus,
)
from crowdsource.accounts.passwords import verify_password
from crowdsource.accounts.services import find_user_by_email
from crowdsource.bids.models import Bid, BidStatus
from crowdsource.contracts.models import Contract
from crowdsource.contracts.services import contract_year
from crowdsource.db import utcnow
from crowdsource.notifications.models import Kind, Notification
from crowdsource.stats.periods import months_between
from crowdsource.tasks import access
from crowdsource.tasks.models import (
    BidMode,
    ContractType,
    Question,
    Task,
    TaskInvitation,
    TaskStatus,
    Visibility,
)
from tests.helpers import PASSWORD, PATIENCE, form_errors, table_counts, wait_until

SHANGHAI = ZoneInfo("Asia/Shanghai")


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
    args = ["centers", "add", "qingdao", "青岛市", "Qingdao", "--level", "city"]
    # As from a shell: outside the test's request context, in an app context of its own.
    result = contextvars.Context().run(runner.invoke, args=args)
    assert result.exit_code != 0
    # Commands speak the platform's default language (Chinese).
    assert "市级创新中心必须隶属于省级创新中心。" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Center.id))) == 0


def test_create_admin_and_make_manager(app, db, centers):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "create-admin", "root@example.com", "--password-stdin"],
        input="an admin passphrase\n",
    )
    assert result.exit_code == 0, result.output
    admin = find_user_by_email("root@example.com")
    assert admin.is_admin
    result = runner.invoke(args=["users", "make-manager", "root@example.com", "青岛市"])
    assert result.exit_code == 0, result.output
    assert authz.managed_centers(admin) == [centers["qingdao"]]
    result = runner.invoke(args=["users", "make-manager", "nobody@example.com", "qingdao"])
    assert result.exit_code != 0 and "No user with email nobody@example.com." in result.output


def users_count(db):
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(User.id)))


def test_create_admin_reads_the_password_from_stdin_and_the_admin_logs_in(app, client, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "root@example.com", "--password-stdin"],
        input="an admin passphrase\nignored second line\n",
    )
    assert result.exit_code == 0, result.output
    assert "root@example.com is an admin." in result.output
    response = client.post(
        "/login", data={"email": "root@example.com", "password": "an admin passphrase"}
    )
    assert response.status_code == 302
    assert client.get("/admin/jobs").status_code == 200  # an admin's page


def test_create_admin_takes_the_password_from_the_environment(app, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "root@example.com"],
        env={"CROWDSOURCE_ADMIN_PASSWORD": "an admin passphrase"},
    )
    assert result.exit_code == 0, result.output
    user = find_user_by_email("root@example.com")
    assert user.is_admin and verify_password(user.password_hash, "an admin passphrase")


def test_create_admin_without_a_terminal_or_a_password_fails_and_stores_nothing(app, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "root@example.com"],
        env={"CROWDSOURCE_ADMIN_PASSWORD": None},
    )
    assert result.exit_code == 1
    assert "no terminal to ask on" in result.output and "--password-stdin" in result.output
    assert "Traceback" not in result.output
    assert users_count(db) == 0


def test_create_admin_with_empty_stdin_fails(app, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "root@example.com", "--password-stdin"], input=""
    )
    assert result.exit_code == 1 and "standard input has no password" in result.output
    assert users_count(db) == 0


@pytest.mark.parametrize(
    "address", ["not an email", "root@", "@example.com", "root@example", "a b@example.com", ""]
)
def test_create_admin_refuses_what_the_registration_form_refuses(app, client, db, address):
    # The registration form refuses the address too, with the same messages.
    page = client.post(
        "/register",
        data={
            "email": address,
            "display_name": "Root",
            "password": "an admin passphrase",
            "confirm": "an admin passphrase",
            "locale": "en",
        },
    )
    messages = form_errors(page)["email"]
    assert page.status_code == 400 and messages
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", address, "--password-stdin"],
        input="an admin passphrase\n",
    )
    assert result.exit_code == 1
    assert f"Not a valid email address: {address!r}. {' '.join(messages)}" in result.output
    assert users_count(db) == 0


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Use at least 10 characters."),
        ("password123", "This password is too common."),
        ("root@example.com", "Do not use your email or name as your password."),
    ],
)
def test_create_admin_refuses_a_password_registration_refuses(app, db, password, message):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "root@example.com", "--password-stdin"],
        input=f"{password}\n",
    )
    assert result.exit_code == 1 and message in result.output
    assert users_count(db) == 0


def test_create_admin_makes_an_existing_account_an_admin_and_keeps_its_password(app, db, make_user):
    user = make_user(email="root@example.com")
    result = app.test_cli_runner().invoke(args=["users", "create-admin", "root@example.com"])
    assert result.exit_code == 0, result.output
    assert "its password is kept" in result.output
    db.session.refresh(user)
    assert user.is_admin and verify_password(user.password_hash, PASSWORD)


@pytest.mark.committing  # the command runs in a process of its own
def test_create_admin_asks_for_the_password_on_a_terminal(app, db, tmp_path):
    """A real terminal (a pseudo-terminal): the command asks twice, hiding what is typed."""
    import pty
    import subprocess

    env = dict(
        os.environ,
        FLASK_APP="crowdsource",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        PASSWORD_HASH_METHOD=app.config["PASSWORD_HASH_METHOD"],
    )
    env.pop("CROWDSOURCE_ADMIN_PASSWORD", None)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "flask"),
            "users",
            "create-admin",
            "root@example.com",
        ],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        cwd=tmp_path,
    )
    os.close(terminal)
    screen = read_until(controller, "Password: ")
    os.write(controller, b"an admin passphrase\n")
    screen += read_until(controller, "Repeat for confirmation: ")
    os.write(controller, b"an admin passphrase\n")
    screen += read_until(controller, "is an admin.")
    assert process.wait(timeout=PATIENCE) == 0, screen
    os.close(controller)
    assert "an admin passphrase" not in screen  # not echoed
    assert find_user_by_email("root@example.com").is_admin


def read_until(descriptor, text):
    """What the program wrote on the terminal up to and including ``text``."""
    seen = b""
    wanted = text.encode()

    def arrived():
        nonlocal seen
        ready, _, _ = select.select([descriptor], [], [], 0.1)
        if ready:
            seen += os.read(descriptor, 4096)
        return wanted in seen

    wait_until(arrived, PATIENCE, f"{text!r} on the terminal (saw {seen!r})", interval=0)
    return seen.decode(errors="replace")


def test_centers_add_explains_a_missing_parent(app, db):
    result = app.test_cli_runner().invoke(
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
    assert result.exit_code == 1
    assert "No center 'shandong' to be the parent: add it first" in result.output
    assert "flask centers add shandong" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Center.id))) == 0


@pytest.mark.parametrize("command", ["seed-demo", "seed-demo-history"])
def test_demo_seeding_is_refused_in_production(app, db, monkeypatch, command):
    monkeypatch.setitem(app.config, "CROWDSOURCE_ENV", "production")
    before = table_counts()
    result = app.test_cli_runner().invoke(args=[command])
    assert result.exit_code == 1
    assert "CROWDSOURCE_ENV=production" in result.output and "--force" in result.output
    assert table_counts() == before


def test_demo_seeding_in_production_with_force(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "CROWDSOURCE_ENV", "production")
    result = app.test_cli_runner().invoke(args=["seed-demo", "--force"])
    assert result.exit_code == 0 and "Demo data created." in result.output
    assert find_user_by_email("admin@example.com").is_admin


def _organization(db, code):
    return db.session.scalar(sa.select(Organization).filter_by(credit_code=code))


def test_seed_demo_is_idempotent(app, db):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).output.strip() == "Demo data created."
    counts = table_counts()
    assert counts["tasks"] and counts["bids"] and counts["questions"] and counts["contracts"]
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
    enterprise = _organization(db, demo_market.HAILAN)
    agency = _organization(db, demo_market.QILU)
    assert len(enterprise.memberships) == 2 and len(agency.memberships) == 1
    manager = find_user_by_email("manager@example.com")
    assert [c.code for c in authz.managed_centers(manager)] == ["qingdao"]
    assert find_user_by_email("admin@example.com").is_admin
    solver = find_user_by_email("solver@example.com")
    assert db.session.scalar(sa.select(Membership).filter_by(user_id=solver.id)) is None
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 6


def test_the_demo_people_and_organizations_are_verified_but_for_the_queue(app, db, client, login):
    app.test_cli_runner().invoke(args=["seed-demo"])
    people = db.session.scalars(sa.select(User)).all()
    organizations = db.session.scalars(sa.select(Organization)).all()
    waiting = [user for user in people if user.email == demo.APPLICANT]
    unverified = [o for o in organizations if o.name == demo.UNVERIFIED_ORGANIZATION[0]]
    assert len(waiting) == 1 and len(unverified) == 1
    # (by identity: Flask-Login's users compare by their session's id)
    aside = {id(subject) for subject in waiting + unverified}
    others = [s for s in [*people, *organizations] if id(s) not in aside]
    assert all(subject.real_name_verified for subject in others)
    assert not any(subject.real_name_verified for subject in waiting + unverified)
    statuses = collections.Counter(v.status for v in db.session.scalars(sa.select(Verification)))
    assert statuses == {VerificationStatus.APPROVED: len(others), VerificationStatus.PENDING: 1}
    # the Qingdao manager's queue shows the applicant's request
    login(find_user_by_email("manager@example.com"), demo.DEMO_PASSWORD)
    assert "张敏" in client.get("/verifications").get_data(as_text=True)


def test_demo_logins_work(app, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    from crowdsource.demo import DEMO_PASSWORD, USERS

    for email, *_ in USERS:
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
        client.post("/logout")


def test_seed_demo_builds_a_living_market(app, db):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).output.strip() == "Demo data created."
    tasks = db.session.scalars(sa.select(Task).order_by(Task.id)).all()
    assert 10 <= len(tasks) <= 14
    assert {task.contract_type for task in tasks} == set(ContractType)
    assert {task.bid_mode for task in tasks} == set(BidMode)
    assert len({task.center_id for task in tasks}) >= 5
    assert len({task.organization_id for task in tasks}) == 2
    assert all(task.bid_deadline > utcnow() for task in tasks)
    assert all(task.delivery_date >= task.bid_deadline.date() for task in tasks)
    statuses = collections.Counter(task.status for task in tasks)
    assert statuses[TaskStatus.DRAFT] == 1 and statuses[TaskStatus.AWARDED] == 1
    assert statuses[TaskStatus.CLOSED] == 1 and statuses[TaskStatus.OPEN] >= 8

    solver = find_user_by_email(demo_market.SOLVER)
    agency_member = find_user_by_email(demo_market.AGENCY_MEMBER)
    agency = _organization(db, demo_market.QILU)
    institute = _organization(db, demo_market.INSTITUTE)
    (invite_only,) = [task for task in tasks if task.visibility == Visibility.INVITE_ONLY]
    invitation = db.session.scalar(sa.select(TaskInvitation).filter_by(task_id=invite_only.id))
    assert invitation.organization_id == agency.id
    assert access.can_view(agency_member, invite_only) and not access.can_view(solver, invite_only)
    (secret,) = [task for task in tasks if task.nda_required]
    assert access.has_accepted_nda(solver, secret)
    assert db.session.scalar(sa.select(Bid).filter_by(task_id=secret.id, bidder_id=solver.id))

    asked = db.session.scalars(sa.select(Question)).all()
    assert {question.asker_id for question in asked} == {solver.id, agency_member.id}
    answered = [question for question in asked if question.answer]
    assert 0 < len(answered) < len(asked)

    bids = db.session.scalars(sa.select(Bid)).all()
    assert any(bid.bidder_id == solver.id and bid.agency_id is None for bid in bids)
    assert any(bid.agency_id == agency.id and bid.payee_organization_id is None for bid in bids)
    brokered = [bid for bid in bids if bid.payee_organization_id == institute.id]
    assert brokered and all(bid.brokerage_bps == 1500 for bid in brokered)
    for bid in bids:
        assert sum(m.amount_fen for m in bid.milestones) == bid.price_fen
        assert all(m.due_date >= bid.created_at.date() for m in bid.milestones)
        assert bid.task.organization_id not in authz.organization_ids_of(bid.bidder)

    (contract,) = db.session.scalars(sa.select(Contract)).all()
    assert re.fullmatch(rf"CS-{contract_year(contract.signed_at)}-000001", contract.number)
    assert contract.task.status == TaskStatus.AWARDED
    assert contract.payee_organization_id == institute.id and contract.brokerage_bps == 1500
    assert len(contract.milestones) == 2
    losers = [bid for bid in bids if bid.task_id == contract.task_id and bid.id != contract.bid_id]
    assert losers and all(bid.status == BidStatus.REJECTED for bid in losers)
    kinds = set(db.session.scalars(sa.select(Notification.kind)))
    assert {Kind.BID_SUBMITTED, Kind.QUESTION_ANSWERED, Kind.BID_AWARDED} <= kinds


def test_demo_market_is_searchable_and_shows_only_what_each_may_see(app, client, login):
    app.test_cli_runner().invoke(args=["seed-demo"])
    page = client.get("/tasks?q=防腐涂层").get_data(as_text=True)
    assert "海洋装备防腐涂层技术开发" in page
    page = client.get("/tasks?q=machine+vision").get_data(as_text=True)
    assert "Machine-vision inspection of stamped brackets" in page
    page = client.get("/tasks").get_data(as_text=True)
    assert "总装车间AGV集群调度系统开发" not in page  # the draft
    assert "磷酸锰铁锂正极材料专利技术转让" not in page  # invite-only
    assert "食品加工废水处理工艺咨询" in page
    login(find_user_by_email(demo_market.AGENCY_MEMBER), demo.DEMO_PASSWORD)
    assert "磷酸锰铁锂正极材料专利技术转让" in client.get("/tasks").get_data(as_text=True)


def _api_items(client, table):
    return client.get(f"/api/v1/stats/{table}?per_page=100").get_json()["items"]


def test_seed_demo_history_shows_each_complete_year_of_its_past_in_the_public_statistics(
    app, db, client, login, clock
):
    clock.freeze()  # seeding takes a while: the month now running must stay the same
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo"])
    demo_contracts = table_counts()["contracts"]
    assert runner.invoke(args=["seed-demo-history"]).output.strip() == "Demo history created."
    counts = table_counts()
    assert runner.invoke(args=["seed-demo-history"]).output.strip() == (
        "Demo history already present."
    )
    assert table_counts() == counts

    signed = db.session.scalars(sa.select(Contract).order_by(Contract.signed_at)).all()
    past = signed[:-demo_contracts]
    assert {str(contract.status) for contract in past} == {"completed"}
    # Every month from January two years back to the last complete one (in the platform's
    # zone) has contracts of the past; the month now running has none.
    now = utcnow().astimezone(SHANGHAI)
    last_complete = f"{now.year - 1}-12" if now.month == 1 else f"{now.year}-{now.month - 1:02d}"
    months = {contract.signed_at.astimezone(SHANGHAI).strftime("%Y-%m") for contract in past}
    assert sorted(months) == months_between(f"{now.year - 2}-01", last_complete)
    result = runner.invoke(args=["ledger", "check"])
    assert result.exit_code == 0, result.output

    # The public statistics show each complete year (and this year's complete months), adding
    # up to what was seeded, without any party's name.
    seeded = collections.defaultdict(lambda: [0, 0])
    for contract in past:
        year = seeded[contract.signed_at.astimezone(SHANGHAI).year]
        year[0] += 1
        year[1] += contract.price_fen
    years = _api_items(client, "years")
    assert {row["year"]: [row["contracts"], row["value_fen"]] for row in years} == seeded
    assert {now.year - 2, now.year - 1} <= set(seeded)
    for table in ("contracts-by-type", "contracts-by-city", "contracts-by-month"):
        rows = _api_items(client, table)
        # most types and months are shown; what is hidden says why, and the cities of one
        # enterprise each are hidden for too few enterprises
        hidden = [row for row in rows if row["suppressed"]]
        if table != "contracts-by-city":
            assert len(hidden) < len(rows) / 2, table
        assert {row["suppressed_by"] for row in hidden} <= {"threshold", "complementary"}
        shown = sum(row["contracts"] for row in rows if not row["suppressed"])
        assert 0 < shown <= len(past), table
    cities = {(row["year"], row["center"]): row for row in _api_items(client, "contracts-by-city")}
    for year in seeded:
        assert cities[(year, "zibo")]["suppressed_by"] == "threshold"
    assert any(row["contracts"] for row in cities.values())
    # what is published passes the disclosure audit
    result = runner.invoke(args=["stats", "audit"])
    assert result.exit_code == 0, result.output
    assert "pass the disclosure audit" in result.output
    page = client.get("/statistics").get_data(as_text=True)
    assert all(contract.client_organization.name not in page for contract in past)
    # The demo people's own lists are as before: the past belongs to others.
    login(find_user_by_email("enterprise@example.com"), demo.DEMO_PASSWORD)
    listed = client.get("/contracts").get_data(as_text=True)
    assert len(re.findall(r'href="/contracts/\d+"', listed)) == demo_contracts
