"""manage.py import_leads and manage.py ingest_adf."""

from email.message import EmailMessage
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from leads.models import Inquiry, Lead, LeadStatus

SAMPLES = Path(__file__).resolve().parent / "adf_samples"

HEADER = "First_Name,Last_Name,Email,Phone,Vehicle_Make,Vehicle_Model,Vehicle_Year,Purchase_Horizon"
BROKER_CSV = f"""{HEADER},Favourite colour
Ann,Lee,ann@example.com,202-555-0143,Kia,EV6,2025,within_month,red
Bob,Ray,bob@example.com,,Ford,F-150,soon,,blue
,,,,,,,,
Cy,Doe,nope,12,,,,,
Ann,Lee,ann@example.com,202-555-0143,Kia,Niro,2025,,red
Dee,Fox,dee@example.com,,,,,next year,
"""


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def broker_file(tmp_path):
    path = tmp_path / "broker.csv"
    path.write_text(BROKER_CSV, encoding="utf-8")
    return path


def test_import_reports_every_row_created_merged_or_rejected_with_why(db, broker_file):
    report = run("import_leads", str(broker_file), "--source", "autofair-2026")

    ann, cy = Lead.objects.order_by("pk")
    assert report == [
        f"row 2: created: lead {ann.pk}",
        "row 3: rejected: vehicle_year 'soon' is not a number",
        "row 4: rejected: empty row",
        f"row 5: created: lead {cy.pk} (disqualified: Invalid phone or e-mail)",
        f"row 6: merged: lead {ann.pk}",
        "row 7: rejected: purchase_horizon 'next year' is not one of: later, within_3_months, "
        "within_6_months, within_month, within_week",
        "6 rows: 2 created, 1 merged, 3 rejected.",
    ]
    assert (ann.source, ann.channel, ann.vehicle_label) == (
        "autofair-2026",
        "import",
        "2025 Kia Niro",
    )
    assert cy.status == LeadStatus.DISQUALIFIED
    assert '"favourite colour": "red"' in Inquiry.objects.first().raw_payload


def test_importing_the_same_file_again_receives_each_row_once(db, broker_file):
    run("import_leads", str(broker_file), "--source", "autofair-2026")

    report = run("import_leads", str(broker_file), "--source", "autofair-2026")

    assert report[-1] == "6 rows: 3 already received, 3 rejected."
    assert Lead.objects.count() == 2
    assert Inquiry.objects.count() == 3


def test_a_file_without_known_columns_is_refused_whole(db, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("colour,size\nred,L\n", encoding="utf-8")

    with pytest.raises(CommandError, match="No known column in the header"):
        run("import_leads", str(path), "--source", "x")
    assert Lead.objects.count() == 0


def test_a_missing_file_is_named(db):
    with pytest.raises(CommandError, match="Cannot read /nowhere.csv"):
        run("import_leads", "/nowhere.csv", "--source", "x")


def test_ingest_adf_reads_xml_files_and_refuses_the_xxe_probe(db):
    paths = [
        SAMPLES / "05_rust_adf_full_lead_cobalt_carpoint_ext.xml",
        SAMPLES / "08_seorylie_xxe_attack_probe.xml",
    ]
    out = StringIO()

    with pytest.raises(CommandError, match="1 of 2 files refused"):
        call_command("ingest_adf", *map(str, paths), stdout=out)

    lead = Lead.objects.get()
    lines = out.getvalue().splitlines()
    assert lines[0] == f"{paths[0]} prospect 1: created: lead {lead.pk}"
    assert lines[1].startswith(f"{paths[1]}: refused: ")


def test_ingest_adf_finds_the_document_in_an_email(db, tmp_path):
    message = EmailMessage()
    message["Subject"] = "New lead from Cars"
    message["From"] = "leads@provider.example"
    message.set_content("A new lead is attached.")
    message.add_attachment(
        (SAMPLES / "03_activix_full_vehicle_finance_timeframe_provider_ext.xml").read_bytes(),
        maintype="application",
        subtype="xml",
        filename="lead.xml",
    )
    path = tmp_path / "lead.eml"
    path.write_bytes(message.as_bytes())

    run("ingest_adf", str(path))

    lead = Lead.objects.get()
    assert (lead.source, lead.external_id, lead.customer.email) == (
        "Activix",
        "12345",
        "test@activix.ca",
    )
