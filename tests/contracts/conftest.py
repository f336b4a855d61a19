"""Fixtures of the contract tests: the money tests' people and contracts, a contract whose first
milestone is paid into escrow, an upload folder of each test's own, and files to attach."""

import io
from types import SimpleNamespace

import pytest

from tests.payments import conftest as money
from tests.payments.support import fund

# the money tests' fixtures, shared
people = money.people
award = money.award

PDF = b"%PDF-1.4 the test report of the prototype"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def uploads(app, tmp_path, monkeypatch):
    """The upload folder of this test: an empty temporary folder."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return folder


@pytest.fixture
def funded(people, award, uploads):
    """A contract of the individual solver with the Laoshan enterprise (two milestones of
    ¥5,000), its first milestone paid into escrow."""
    contract = award()
    first, second = contract.milestones
    fund(first, people.owner, people.managers["qingdao"])
    return SimpleNamespace(contract=contract, milestone=first, second=second)


def pdf_file(name="report.pdf", content=PDF):
    return (io.BytesIO(content), name)


def png_file(name="photo.png"):
    return (io.BytesIO(PNG), name)


def stored_files(folder):
    """The files in the upload folder (it may not exist yet)."""
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []
