"""Fixtures shared by the tests of the tasks package (the general ones are in tests/plugin.py)."""

import pytest


@pytest.fixture
def task_form(centers):
    """``task_form(organization, **fields)``: the fields of a valid /tasks/new form."""

    def form(organization=None, **fields):
        data = {
            "organization_id": organization.id if organization else "",
            "title": "视觉检测系统 for PCB lines",
            "summary": "Find solder defects on our SMT line.",
            "description": "We need a **vision system** that finds solder defects.",
            "contract_type": "development",
            "fields": "智能制造",
            "skills": "machine vision",
            "budget_min": "50,000",
            "budget_max": "80,000",
            "bid_deadline": "2099-01-01T12:00",
            "delivery_date": "2099-03-01",
            "center_id": centers["qingdao"].id,
            "visibility": "public",
            "bid_mode": "sealed",
            "ip_terms": "assigned",
        }
        data.update(fields)
        return {key: value for key, value in data.items() if value is not None}

    return form
