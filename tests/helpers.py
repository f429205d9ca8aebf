"""Checks and shortcuts shared by several test modules."""

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import F, OuterRef, Subquery

from dealercrm.models import Customer, StaffProfile, Team
from leads.models import Activity, Lead, LeadEvent


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (Team, get_user_model(), StaffProfile, Customer, Lead, LeadEvent, Activity)
    }


def leads_whose_status_differs_from_their_history():
    last_status = (
        LeadEvent.objects.filter(lead=OuterRef("pk"))
        .exclude(to_status="")
        .order_by("-at", "-id")
        .values("to_status")[:1]
    )
    return Lead.objects.annotate(history_status=Subquery(last_status)).exclude(
        status=F("history_status")
    )


def seed(**options):
    call_command("seed_demo", stdout=StringIO(), **options)
