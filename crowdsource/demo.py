"""Demo data for a fresh installation: Shandong's centers, organizations and people.

Seeding is idempotent: what exists (by email, center code or credit code) is left alone.
"""

import sqlalchemy as sa

from crowdsource.accounts import centers, services
from crowdsource.accounts.models import Membership, Organization, Role
from crowdsource.db import db

DEMO_PASSWORD = "demo-password-2026"

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
        "91370200MA3C9F2X38",
        "qingdao",
        "海洋工程与智能装备制造企业。A maker of marine and intelligent equipment.",
        [("enterprise@example.com", Role.OWNER), ("engineer@example.com", Role.MEMBER)],
    ),
    (
        "山东齐鲁技术转移服务中心",
        "agency",
        "private",
        "52370000MJD61234XE",
        "jinan",
        "科技服务机构：技术转移、成果转化与知识产权服务。A technology transfer agency.",
        [("agency@example.com", Role.OWNER)],
    ),
    (
        "青岛海洋工程研究院",
        "institution",
        "research_institute",
        "12370000495571234X",
        "laoshan",
        "从事海洋工程装备研究的科研院所。A marine engineering research institute.",
        [],
    ),
]


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
            user = services.register_user(email, DEMO_PASSWORD, name, locale)
            user.skills = skills
            created = True
        users[email] = user
    users["admin@example.com"].is_admin = True
    centers.make_manager(users["manager@example.com"], centers.find_center("qingdao"))
    for name, kind, ownership, code, center_code, description, members in ORGANIZATIONS:
        organization = db.session.scalar(sa.select(Organization).filter_by(credit_code=code))
        if organization is not None:
            continue
        center = centers.find_center(center_code)
        organization = Organization(
            name=name,
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
    return created
