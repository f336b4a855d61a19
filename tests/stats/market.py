"""The figures of the statistics tests' seeded market (built by the ``market`` fixture of
tests/stats/conftest.py): what the tests compare the statistics with."""

import datetime as dt

#: every contract of the market: (year, month, contract type, center code, price in fen).
#: Prices are odd numbers that no sum of others equals, so that a single one can be searched
#: for in every response.
CONTRACTS = [
    (2024, 3, "development", "laoshan", 2_000_011),
    (2024, 5, "development", "qingdao", 3_000_013),
    (2024, 9, "development", "laoshan", 4_000_017),
    (2024, 4, "service", "laoshan", 1_500_019),
    (2024, 6, "service", "qingdao", 2_500_023),
    (2024, 11, "service", "laoshan", 3_500_029),
    # 2025: the only transfer contract (Zibo) must never be shown on its own
    (2025, 2, "transfer", "zibo", 1_234_567),
    (2025, 1, "development", "laoshan", 2_100_031),
    (2025, 4, "development", "qingdao", 2_200_037),
    (2025, 7, "development", "shandong", 2_300_041),
    (2025, 3, "consulting", "zibo", 1_100_043),
    (2025, 3, "consulting", "laoshan", 1_200_047),
    (2025, 8, "consulting", "laoshan", 1_300_053),
    (2025, 10, "consulting", "shandong", 1_400_059),
    (2025, 2, "service", "laoshan", 3_100_061),
    (2025, 5, "service", "laoshan", 3_200_067),
    (2025, 6, "service", "qingdao", 3_300_071),
    (2025, 9, "service", "qingdao", 3_400_073),
    (2025, 12, "service", "shandong", 3_500_079),
]
#: who is party to each contract of CONTRACTS (same index): the enterprise (A: Haian Robotics,
#: Laoshan; B and C: two Qingdao enterprises; Z: Zibo Ceramics) and the payee (an individual
#: solver 0-3, or the university the agency brokered for)
PARTIES = [
    ("A", 0),
    ("B", 1),
    ("C", 2),
    ("A", 1),
    ("B", 2),
    ("C", 3),
    ("Z", 0),
    ("B", 1),
    ("A", "institute"),
    ("C", 2),
    ("Z", 3),
    ("A", 0),
    ("B", 1),
    ("C", 2),
    ("A", 3),
    ("B", 0),
    ("C", 1),
    ("A", 2),
    ("B", 3),
]
assert len(PARTIES) == len(CONTRACTS)
#: the one contract brokered by an agency (index into CONTRACTS)
AGENCY_CONTRACT = 8
#: tasks published in 2025 that nobody was awarded (center code)
UNAWARDED_2025 = ["laoshan", "zibo"]

PARTY_NAMES = [
    "Haian Robotics",
    "Zibo Ceramics",
    "Jiaozhou Tech Transfer",
    "Qingdao University of Science",
    "Li Wei",
    "Ma Lin",
    "Zhao Lei",
    "Sun Mei",
    "li.wei@haian.example",
    "zhao.lei@example.com",
    "Qingdao Haixin Sensors",
    "Qingdao Beihai Valves",
    "Chen Jing",
    "Wu Hao",
    "Zhou Yan",
]
PRIVATE_TASK_TITLE = "Confidential alloy quenching process"
DRAFT_TASK_TITLE = "Unpublished draft about furnace control"
OPEN_TASK_TITLE = "Open call for a ceramic kiln temperature model"


def moment(year, month, day=15):
    """Noon in China on the given day, in UTC."""
    return dt.datetime(year, month, day, 4, 0, tzinfo=dt.UTC)
