"""Which Django permissions each role's group holds.

Capabilities are permissions granted to role groups (STYLE.md); row visibility is decided
separately, per model, in each app's permissions module. Permissions are named as
"app_label.codename" strings so that this core module imports no app above it.
"""

from django.db.models import Q

from dealercrm.models import Role

_SELLING = [
    "dealercrm.view_customer",
    "dealercrm.change_customer",
    "dealercrm.view_vehicle",
    "leads.view_lead",
    "leads.change_lead",
    "leads.view_leadevent",
    "leads.view_activity",
    "leads.add_activity",
    "leads.view_reason",
    "leads.view_inquiry",
    "leads.view_followuptask",
    "leads.change_followuptask",
    "leads.view_followupstep",
    "leads.view_resurfacing",
    "dealercrm.view_lifecycledate",
    # A customer's service history and open issues, without the money (`view_service_money`).
    "service.view_serviceopportunity",
    "service.view_serviceevent",
    "service.view_customerissue",
]

_MANAGING_SALES = [
    *_SELLING,
    "leads.add_lead",
    "leads.submit_leads",
    "leads.view_all_leads",
    "leads.view_lead_reports",
    "leads.reassign_lead",
    "leads.audit_lead",
    "dealercrm.view_team",
    "dealercrm.view_staffprofile",
    "dealercrm.change_staffprofile",
    "leads.add_reason",
    "leads.change_reason",
    "leads.view_leadsource",
    "leads.add_leadsource",
    "leads.change_leadsource",
    "leads.view_scoreweight",
    "leads.change_scoreweight",
    "leads.add_followupstep",
    "leads.change_followupstep",
    "leads.delete_followupstep",
    "routing.manage_routing",
    "routing.view_routingrule",
    "routing.add_routingrule",
    "routing.change_routingrule",
    "routing.delete_routingrule",
    "routing.view_openinghours",
    "routing.change_openinghours",
    "leads.change_resurfacing",
    "leads.view_lifecyclesettings",
    "leads.change_lifecyclesettings",
    "dealercrm.add_lifecycledate",
    "dealercrm.change_lifecycledate",
    "dealercrm.view_sweeprun",
    "dealercrm.view_auditentry",
]

_SERVICING = [
    "dealercrm.view_customer",
    "dealercrm.change_customer",
    "dealercrm.view_vehicle",
    "dealercrm.add_vehicle",
    "dealercrm.change_vehicle",
    "dealercrm.view_lifecycledate",
    "dealercrm.add_lifecycledate",
    "dealercrm.change_lifecycledate",
    "leads.view_reason",
    "service.view_serviceopportunity",
    "service.add_serviceopportunity",
    "service.change_serviceopportunity",
    "service.view_service_money",
    "service.view_serviceevent",
    "service.view_serviceloss",
    "service.add_serviceloss",
    "service.view_recapture",
    "service.change_recapture",
    "service.view_servicecampaign",
    "service.view_correctiveaction",
    "service.view_customerissue",
    "service.add_customerissue",
    "service.change_customerissue",
]

ROLE_PERMISSIONS = {
    Role.SALESPERSON: _SELLING,
    Role.BDC_AGENT: [*_SELLING, "leads.add_lead", "leads.submit_leads"],
    Role.BDC_MANAGER: _MANAGING_SALES,
    Role.SALES_MANAGER: _MANAGING_SALES,
    Role.SERVICE_ADVISOR: _SERVICING,
    Role.SERVICE_MANAGER: [
        *_SERVICING,
        "dealercrm.view_team",
        "dealercrm.view_staffprofile",
        "dealercrm.view_sweeprun",
        "service.view_service_kpis",
        "service.add_correctiveaction",
        "service.change_correctiveaction",
        "service.add_servicecampaign",
        "service.change_servicecampaign",
        "service.view_servicesettings",
        "service.change_servicesettings",
    ],
    # Integrations post leads, and bookings, visits and quotes from the dealer's systems.
    Role.LEAD_PROVIDER: ["leads.submit_leads", "service.add_serviceopportunity"],
}


def group_name(role):
    return Role(role).label


def role_groups_sync(apps):
    """Create one group per role and set its permissions to the table above.

    Runs from data migrations (with historical models) whenever the table changes; it is
    idempotent. Django creates permissions after migrations by default, so they are created
    here first. A permission of a model that a later migration adds is skipped here and granted
    by the migration that calls this again; a test checks every group holds its whole list.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name(role))
        wanted = Q()
        for name in names:
            app_label, codename = name.split(".", 1)
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(wanted))
