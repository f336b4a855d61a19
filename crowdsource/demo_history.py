"""A past for the demo market: the two complete calendar years before the current one and the
complete months of the current year, with contracts between other enterprises of the province
and a few individual solvers, so that the dashboards (the last three years by default) and the
public statistics (which cover complete months only) have figures to show on a fresh
installation, whatever the date.

Every month of the past has one contract of each of three or four different enterprises, each
won by a different solver, at prices no more than 7.5 times apart: every month passes the
statistics' threshold (three enterprises and three payees) and the p % rule on its own. Jinan
and Qingdao have three enterprises each, the other cities one, so the table by city shows what
the disclosure rules hide (disclosure.py): the single-enterprise cities, and what must be
hidden with them.

Everything is made through the real services with dates in the past: tasks posted, bid on and
awarded in their month, then paid into escrow, delivered and accepted, so every contract of the
past is completed and the ledger is sound. The ledger dates its entries by when they are
written, so the money of this past shows in the month of seeding. The past's people cannot log
in (their password is random) and get no e-mail. Seeding is idempotent: it does nothing once
the first of its enterprises exists.
"""

import calendar
import datetime as dt
import random
import secrets
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from crowdsource.accounts import centers, identity, services, verification
from crowdsource.accounts.credit_code import check_character
from crowdsource.accounts.models import Membership, Organization, Role, User
from crowdsource.bids import offers
from crowdsource.bids import services as bids
from crowdsource.contracts import workflow
from crowdsource.db import db, utcnow
from crowdsource.lifecycle import SYSTEM
from crowdsource.payments import funding
from crowdsource.tasks import services as tasks
from crowdsource.tasks.models import ContractType

#: complete calendar years before the current one that the past covers
YEARS = 2
#: contracts (each of a different enterprise, won by a different solver) per month, to draw from
CONTRACTS_PER_MONTH = [3, 3, 4]

#: name, center code, owner's e-mail and name
ENTERPRISES = [
    ("济南恒拓数控机床有限公司", "licheng", "owner@hengtuo.example", "孙立"),
    ("淄博华瓷新材料股份有限公司", "zhangdian", "owner@huaci.example", "周倩"),
    ("烟台海通食品机械有限公司", "yantai", "owner@haitong.example", "刘洋"),
    ("潍坊沃丰农业科技有限公司", "weifang", "owner@wofeng.example", "赵凯"),
    ("威海蓝海船舶配套有限公司", "weihai", "owner@lanhai.example", "马超"),
    ("青岛黄岛港机设备有限公司", "huangdao", "owner@gangji.example", "韩雪"),
    ("济南历下精测仪器有限公司", "jinan", "owner@jingce.example", "王静"),
    ("济南齐鲁生物制药有限公司", "jinan", "owner@qilu-bio.example", "陈晨"),
    ("青岛崂山海洋生物科技有限公司", "laoshan", "owner@haiyang.example", "杨帆"),
    ("青岛海纳智能装备有限公司", "qingdao", "owner@haina.example", "许磊"),
]

#: e-mail and name of the individual solvers of the past
SOLVERS = [
    ("gao.feng@solver.example", "高峰"),
    ("lin.na@solver.example", "林娜"),
    ("wu.tao@solver.example", "吴涛"),
    ("zheng.yu@solver.example", "郑宇"),
]

#: titles of past tasks, by contract type
TITLES = {
    ContractType.DEVELOPMENT: [
        "数控系统热误差补偿软件开发",
        "陶瓷膜烧结工艺优化与控制系统开发",
        "果蔬分选机视觉识别模块开发",
        "船用管路振动监测装置研制",
    ],
    ContractType.TRANSFER: [
        "高强度陶瓷刀具专利技术转让",
        "低温速冻保鲜工艺技术转让",
        "港口起重机防摇控制专利许可",
    ],
    ContractType.CONSULTING: [
        "智能工厂改造可行性论证",
        "设施农业节水灌溉技术咨询",
        "出口食品机械标准符合性咨询",
    ],
    ContractType.SERVICE: [
        "生产线能耗检测与分析服务",
        "港机结构疲劳检测服务",
        "新材料性能第三方测试服务",
    ],
}

#: contract prices in yuan to draw from
PRICES = [80_000, 120_000, 150_000, 200_000, 260_000, 300_000, 450_000, 600_000]


def _credit_code(number):
    first_seventeen = f"9137{number:04d}MA3D{number:05d}"[:17]
    return first_seventeen + check_character(first_seventeen)


def past_months(now, zone):
    """The months of the past, oldest first, as the local start of each (10:00 on the 1st):
    from January ``YEARS`` years before the current one to the month before the current."""
    local = now.astimezone(zone)
    year, month = local.year - YEARS, 1
    months = []
    while (year, month) < (local.year, local.month):
        months.append(dt.datetime(year, month, 1, 10, 0, tzinfo=zone))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _person(email, name):
    user = services.find_user_by_email(email)
    if user is None:
        user = services.register_user(
            email, secrets.token_urlsafe(18), name, email_verified_at=utcnow()
        )
        user.email_notifications = False
    return user


def _enterprises():
    found = []
    for number, (name, center_code, email, owner_name) in enumerate(ENTERPRISES, start=1):
        owner = _person(email, owner_name)
        organization = Organization(
            name=identity.normalize_name(name),
            name_key=identity.name_key(name),
            kind="enterprise",
            credit_code=_credit_code(number),
            center=centers.find_center(center_code),
            description="演示数据：平台过去两年的交易方。Demo data: a party of the past market.",
        )
        db.session.add(organization)
        db.session.add(Membership(user=owner, organization=organization, role=Role.OWNER))
        found.append((organization, owner))
    db.session.flush()
    for organization, _owner in found:
        verification.vouch(SYSTEM, organization, "演示数据 (demo data)")
    return found


def _contract(organization, owner, solver, contract_type, title, price_yuan, posted, now):
    """One task of the past, from posting to the accepted delivery (no step later than
    ``now``)."""
    price = price_yuan * 100
    task = tasks.create_task(
        owner,
        organization,
        tasks.TaskDetails(
            title=title,
            summary=f"{title}（演示数据）",
            description=f"{title}。演示数据：平台过去的一项技术需求。",
            contract_type=contract_type,
            fields=["智能制造"],
            skills=[],
            budget_min_fen=price * 8 // 10,
            budget_max_fen=price * 12 // 10,
            bid_deadline=posted + dt.timedelta(days=14),
            delivery_date=(posted + dt.timedelta(days=90)).date(),
            center_id=organization.center_id,
        ),
        posted,
    )
    tasks.publish_task(owner, task, posted)
    bid_at = posted + dt.timedelta(days=2)
    bid = bids.place_bid(
        solver,
        task,
        bids.BidDetails(
            price_fen=price,
            duration_days=60,
            proposal="按需求完成全部工作并提交验收报告。",
            milestones=[
                bids.ProposedMilestone("全部工作", price, (posted + dt.timedelta(days=60)).date())
            ],
        ),
        bid_at,
    )
    awarded_at = posted + dt.timedelta(days=9)
    tasks.close_bidding(owner, task, awarded_at)
    contract = offers.sign_both(owner, bid, awarded_at)
    (milestone,) = contract.milestones
    admin = db.session.scalar(
        sa.select(User).where(User.is_admin.is_(True)).order_by(User.id).limit(1)
    )
    started = funding.start_funding(owner, milestone)
    paid_at = min(awarded_at + dt.timedelta(days=3), now)
    funding.confirm_bank_transfer(admin, started, started.amount_fen, "ICBC-PAST", paid_at)
    delivered_at = min(paid_at + dt.timedelta(days=40), now)
    workflow.submit_delivery(solver, milestone.id, "成果及验收报告已提交。", delivered_at)
    workflow.accept_delivery(owner, milestone.id, min(delivered_at + dt.timedelta(days=3), now))


def seed_history(now=None):
    """Create the past market unless it exists; returns True if it was created."""
    if db.session.scalar(sa.select(Organization.id).filter_by(credit_code=_credit_code(1))):
        return False
    now = now or utcnow()
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    draw = random.Random(2026)
    enterprises = _enterprises()
    solvers = [_person(email, name) for email, name in SOLVERS]
    for start in past_months(now, zone):
        days = calendar.monthrange(start.year, start.month)[1]
        count = draw.choice(CONTRACTS_PER_MONTH)
        for (organization, owner), solver in zip(
            draw.sample(enterprises, count), draw.sample(solvers, count), strict=True
        ):
            contract_type = draw.choice(list(ContractType))
            # posted early enough that bidding and the award fall in the same month
            posted = start + dt.timedelta(days=draw.randint(0, min(days, 28) - 15))
            _contract(
                organization,
                owner,
                solver,
                contract_type,
                draw.choice(TITLES[contract_type]),
                draw.choice(PRICES),
                posted.astimezone(dt.UTC),
                now,
            )
    return True
