"""Fixtures of the contract tests: a contract whose first milestone is paid into escrow (the
money tests' people and contracts, ``uploads`` and the files to attach are shared: tests/plugin.py
and tests/helpers.py)."""

from types import SimpleNamespace

import pytest

from tests.payments.support import fund


@pytest.fixture
def funded(people, award, uploads):
    """A contract of the individual solver with the Laoshan enterprise (two milestones of
    ¥5,000), its first milestone paid into escrow."""
    contract = award()
    first, second = contract.milestones
    fund(first, people.owner, people.managers["qingdao"])
    return SimpleNamespace(contract=contract, milestone=first, second=second)
