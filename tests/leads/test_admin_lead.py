"""The lead in the admin: what the services keep for the reports is shown, never edited there
(an edit would make the reports disagree with the lead's history)."""

import pytest

from leads.models import REPORT_FIELDS
from tests.leads.reporting import at, new_lead, touch

pytestmark = pytest.mark.django_db


def test_the_counts_the_reports_read_are_read_only(admin_client, salesperson):
    lead = new_lead(at("2026-07-06", 10), owner=salesperson)
    touch(lead, at("2026-07-06", 10, 3), by=salesperson)

    page = admin_client.get(f"/admin/leads/lead/{lead.pk}/change/")

    assert page.status_code == 200
    assert 'name="vehicle_make"' in page.text
    for field in REPORT_FIELDS:
        assert f'name="{field}"' not in page.text, field
        assert f"field-{field}" in page.text, field
