"""Demo data for a fresh installation: Shandong's centers, organizations and people, and a living
market of tasks with questions, bids and one awarded contract.

Seeding is idempotent: what exists (by email, center code, credit code, or a task's title in
its organization) is left alone. The market is made through the real services, so it has the
notifications, search terms and contract number that use would give it; its dates count from
the moment of seeding.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from crowdsource.accounts import centers, credit_code, identity, resident_id, services, verification
from crowdsource.accounts.models import Membership, Organization, Role
from crowdsource.bids import offers
from crowdsource.bids import services as bids
from crowdsource.contracts import workflow
from crowdsource.db import db, utcnow
from crowdsource.demo_market import (
    HAILAN,
    INSTITUTE,
    LUSHU,
    POSTER,
    QILU,
    TASKS,
)
from crowdsource.lifecycle import SYSTEM
from crowdsource.payments import funding
from crowdsource.tasks import questions
from crowdsource.tasks import services as tasks
from crowdsource.tasks.models import Task, Visibility

DEMO_PASSWORD = "demo-password-2026"
#: why the demo's people count as verified (the reason of their approved verifications)
DEMO_VOUCHER = "演示数据 (demo data)"

#: code, Chinese name, English name, level, parent code
CENTERS = [
    ("shandong", "山东省", "Shandong", "province", None),
    ("jinan", "济南市", "Jinan", "city", "shandong"),
    ("qingdao", "青岛市", "Qingdao", "city", "shandong"),
    ("zibo", "淄博市", "Zibo", "city", "shandong"),
    ("yantai", "烟台市", "Yantai", "city", "shandong"),
    ("weifang", "潍坊市", "Weifang", "city", "shandong"),
    ("weihai", "威海市", "Weihai", "city", "shandong"),
    ("licheng", "历城区", "Licheng District", "county", "jinan"),
    ("laoshan", "崂山区", "Laoshan District", "county", "qingdao"),
    ("huangdao", "黄岛区", "Huangdao District", "county", "qingdao"),
    ("zhangdian", "张店区", "Zhangdian District", "county", "zibo"),
    ("shouguang", "寿光市", "Shouguang", "county", "weifang"),
]

#: email, display name, language, skills
USERS = [
    ("admin@example.com", "平台管理员", "zh_CN", []),
    ("manager@example.com", "王海涛", "zh_CN", []),
    ("enterprise@example.com", "李伟", "zh_CN", []),
    ("engineer@example.com", "张敏", "zh_CN", ["PLC", "机器视觉"]),
    ("agency@example.com", "陈静", "zh_CN", ["技术转移", "知识产权"]),
    ("solver@example.com", "Zhao Lei", "en", ["CFD", "machine vision", "Python"]),
]

#: name, kind, ownership, credit code, center code, description, members (email, role)
ORGANIZATIONS = [
    (
        "青岛海澜智能装备有限公司",
        "enterprise",
        None,
        HAILAN,
        "qingdao",
        "海洋工程与智能装备制造企业。A maker of marine and intelligent equipment.",
        [("enterprise@example.com", Role.OWNER), ("engineer@example.com", Role.MEMBER)],
    ),
    (
        "寿光鲁蔬食品有限公司",
        "enterprise",
        None,
        LUSHU,
        "shouguang",
        "蔬菜种植与果蔬加工企业，青岛海澜的关联企业。A vegetable grower and processor.",
        [("enterprise@example.com", Role.OWNER)],
    ),
    (
        "山东齐鲁技术转移服务中心",
        "agency",
        "private",
        QILU,
        "jinan",
        "科技服务机构：技术转移、成果转化与知识产权服务。A technology transfer agency.",
        [("agency@example.com", Role.OWNER)],
    ),
    (
        "青岛海洋工程研究院",
        "institution",
        "research_institute",
        INSTITUTE,
        "laoshan",
        "从事海洋工程装备研究的科研院所。A marine engineering research institute.",
        [],
    ),
]


#: the demo's member who waits for the review of their real name, and the organization they
#: registered and have not asked to verify yet: the Qingdao manager's queue has them
APPLICANT = "engineer@example.com"
APPLICANT_ID_FIRST_SEVENTEEN = "37021219900307123"
UNVERIFIED_ORGANIZATION = ("青岛蓝谷新材料有限公司", "91370212MA3D8K2P7")


def _verification_queue(users):
    """One pending request (the applicant's real name, for Qingdao's managers) and one
    organization that has not asked to be verified."""
    applicant = users[APPLICANT]
    name, first_seventeen = UNVERIFIED_ORGANIZATION
    code = first_seventeen + credit_code.check_character(first_seventeen)
    if _organization(code) is None:
        organization = Organization(
            name=identity.normalize_name(name),
            name_key=identity.name_key(name),
            kind="enterprise",
            credit_code=code,
            center=centers.find_center("qingdao"),
            description="演示数据：尚未实名认证的企业。Demo data: not verified yet.",
        )
        db.session.add(organization)
        db.session.add(Membership(user=applicant, organization=organization, role=Role.OWNER))
        db.session.flush()
    if verification.latest_of(applicant) is None:
        number = APPLICANT_ID_FIRST_SEVENTEEN
        number += resident_id.check_character(number)
        qingdao = centers.find_center("qingdao")
        verification.apply_as_person(applicant, "张敏", number, qingdao.id)


def _organization(code):
    return db.session.scalar(sa.select(Organization).filter_by(credit_code=code))


def _deadline(now, days):
    """5 p.m. local time (the platform's default zone), ``days`` days after ``now``."""
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    local = (now.astimezone(zone) + dt.timedelta(days=days)).replace(
        hour=17, minute=0, second=0, microsecond=0
    )
    return local.astimezone(dt.UTC)


def _task_details(spec, now):
    low, high = spec.budget
    return tasks.TaskDetails(
        title=spec.title,
        summary=spec.summary,
        description=spec.description,
        contract_type=spec.contract_type,
        fields=list(spec.fields),
        skills=list(spec.skills),
        budget_min_fen=low * 100,
        budget_max_fen=high * 100,
        bid_deadline=_deadline(now, spec.deadline_days),
        delivery_date=(now + dt.timedelta(days=spec.delivery_days)).date(),
        center_id=centers.find_center(spec.center).id,
        visibility=Visibility.INVITE_ONLY if spec.invited else Visibility.PUBLIC,
        bid_mode=spec.bid_mode,
        ip_terms=spec.ip_terms,
        nda_required=spec.nda_required,
        invited_organizations=[_organization(code) for code in spec.invited],
    )


def _place(spec, task, now):
    bidder = services.find_user_by_email(spec.bidder)
    if task.nda_required:
        tasks.accept_nda(bidder, task, now)
    details = bids.BidDetails(
        price_fen=spec.price * 100,
        duration_days=spec.duration_days,
        proposal=spec.proposal,
        milestones=[
            bids.ProposedMilestone(title, amount * 100, (now + dt.timedelta(days=days)).date())
            for title, amount, days in spec.milestones
        ],
        agency=_organization(spec.agency) if spec.agency else None,
        payee_organization=_organization(spec.payee) if spec.payee else None,
        brokerage_bps=spec.brokerage_bps,
    )
    return bids.place_bid(bidder, task, details, now)


def _post(spec, organization, now):
    """Post one demo task and play its story: questions, bids, shortlist, closing, award."""
    poster = services.find_user_by_email(POSTER)
    task = tasks.create_task(poster, organization, _task_details(spec, now), now)
    if spec.state == "draft":
        return
    tasks.publish_task(poster, task, now)
    for email, body, reply in spec.questions:
        asker = services.find_user_by_email(email)
        if task.nda_required:
            tasks.accept_nda(asker, task, now)
        question = questions.ask(asker, task, body, now)
        if reply:
            questions.answer(poster, question, reply, now)
    placed = [(bid_spec, _place(bid_spec, task, now)) for bid_spec in spec.bids]
    for bid_spec, bid in placed:
        if bid_spec.outcome in ("shortlisted", "awarded"):
            bids.shortlist_bid(poster, bid)
    if spec.state in ("closed", "awarded"):
        tasks.close_bidding(poster, task, now)
    for bid_spec, bid in placed:
        if bid_spec.outcome == "awarded":
            _play_money(offers.sign_both(poster, bid, now), poster, now)


def _play_money(contract, poster, now):
    """The awarded demo contract at work: the first milestone paid in by bank transfer,
    delivered and accepted (so there are earnings and fees to see), the second paid and
    delivered (awaiting review), the third's transfer announced but not yet received."""
    manager = services.find_user_by_email(MANAGER)
    solver = contract.solver
    milestones = list(contract.milestones)
    for number, milestone in enumerate(milestones[:3], start=1):
        started = funding.start_funding(poster, milestone)
        if number == 3:
            break
        funding.confirm_bank_transfer(
            manager, started, started.amount_fen, f"ICBC-DEMO-{number:04d}", now
        )
        workflow.submit_delivery(solver, milestone.id, DELIVERIES[number - 1], now)
        if number == 1:
            workflow.accept_delivery(poster, milestone.id, now)


#: what the solver's side writes when delivering the first two demo milestones
DELIVERIES = (
    "现场勘察报告与腐蚀环境评估已上传至共享盘（Site survey and corrosion assessment).",
    "阴极保护方案初稿及计算书 (draft design and calculations).",
)
MANAGER = "manager@example.com"


def seed_market(now=None):
    """Post the demo tasks that are missing (by title in their organization), with their
    questions and bids; returns True if any was posted."""
    now = now or utcnow()
    created = False
    for spec in TASKS:
        organization = _organization(spec.organization)
        posted = sa.select(Task.id).filter_by(organization_id=organization.id, title=spec.title)
        if db.session.scalar(posted) is None:
            _post(spec, organization, now)
            created = True
    return created


def seed():
    """Create whatever demo data is missing; returns True if anything was created."""
    created = False
    for code, name_zh, name_en, level, parent_code in CENTERS:
        if centers.find_center(code) is None:
            parent = centers.find_center(parent_code) if parent_code else None
            centers.add_center(code, name_zh, name_en, level, parent)
            created = True
    users = {}
    for email, name, locale, skills in USERS:
        user = services.find_user_by_email(email)
        if user is None:
            user = services.register_user(
                email, DEMO_PASSWORD, name, locale, email_verified_at=utcnow()
            )
            user.skills = skills
            created = True
        users[email] = user
    users["admin@example.com"].is_admin = True
    centers.make_manager(users["manager@example.com"], centers.find_center("qingdao"))
    for name, kind, ownership, code, center_code, description, members in ORGANIZATIONS:
        if _organization(code) is not None:
            continue
        center = centers.find_center(center_code)
        organization = Organization(
            name=identity.normalize_name(name),
            name_key=identity.name_key(name),
            kind=kind,
            ownership=ownership,
            credit_code=code,
            center=center,
            description=description,
        )
        db.session.add(organization)
        for email, role in members:
            db.session.add(Membership(user=users[email], organization=organization, role=role))
        created = True
    db.session.flush()
    _vouch_for_demo_people(users)
    _verification_queue(users)
    return seed_market() or created


def _vouch_for_demo_people(users):
    """The demo's people and organizations are verified (实名认证), so that its enterprises
    publish and its payees are paid out with the platform's rule on; but for the ones that
    show the verification queue (:func:`_verification_queue`)."""
    people = [user for email, user in users.items() if email != APPLICANT]
    subjects = [*people, *(_organization(spec[3]) for spec in ORGANIZATIONS)]
    for subject in subjects:
        if not subject.real_name_verified:
            verification.vouch(SYSTEM, subject, DEMO_VOUCHER)
