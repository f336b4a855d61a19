"""Fixtures of the dispute tests: the money tests' people and contracts, and a delivered
milestone of ¥10,000 brokered by an agency for a university, under 5 % commission, a 1 %
client-side fee and 10 % brokerage, in Laoshan (below Qingdao, below Shandong)."""

import io
from types import SimpleNamespace

import pytest

from crowdsource.db import transaction
from crowdsource.payments import policy
from tests.payments.conftest import award, people  # noqa: F401  (shared fixtures)
from tests.payments.support import deliver, fund
from tests.tasks.conftest import add_member  # noqa: F401

AMOUNT = 1_000_000
DUE = 1_010_000  # with the 1 % client-side fee


@pytest.fixture
def case(people, award):
    """A funded and delivered milestone (and a second, unfunded one) of an agency's contract."""
    with transaction():
        policy.set_policy(people.admin, None, None, 500, 100, 0, 3000)
    contract = award([AMOUNT, 200_000], brokerage_bps=1000)
    first, second = contract.milestones
    fund(first, people.owner, people.managers["qingdao"])
    deliver(people.broker, first)
    return SimpleNamespace(contract=contract, milestone=first, second=second)


def pdf_file(name="evidence.pdf"):
    return (io.BytesIO(b"%PDF-1.4 the signed acceptance protocol"), name)
