import pytest
from django.contrib.auth.models import Group

from dealercrm.models import Role
from dealercrm.roles import ROLE_PERMISSIONS, group_name
from dealercrm.services import staff_set_role
from tests.factories import make_staff


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_each_role_group_holds_exactly_its_permissions_after_migrating(role):
    group = Group.objects.get(name=group_name(role))

    held = {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }
    assert held == set(ROLE_PERMISSIONS[role])


@pytest.mark.django_db
def test_a_new_staff_member_gets_the_group_of_the_role(sales_team):
    user = make_staff(Role.BDC_AGENT, sales_team)

    assert list(user.groups.values_list("name", flat=True)) == ["BDC agent"]
    assert user.has_perm("leads.add_lead")
    assert not user.has_perm("leads.view_all_leads")


@pytest.mark.django_db
def test_changing_a_role_moves_the_person_to_the_new_group_only(salesperson):
    staff_set_role(user=salesperson, role=Role.SALES_MANAGER)

    salesperson.refresh_from_db()
    assert salesperson.staff.role == Role.SALES_MANAGER
    assert list(salesperson.groups.values_list("name", flat=True)) == ["Sales manager"]
    assert salesperson.has_perm("leads.view_all_leads")


def test_a_change_of_role_takes_effect_at_once_despite_the_permissions_cache(
    salesperson, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model

    assert not salesperson.has_perm("leads.audit_lead")  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        staff_set_role(user=salesperson, role=Role.SALES_MANAGER)

    fresh = get_user_model().objects.get(pk=salesperson.pk)
    assert fresh.has_perm("leads.audit_lead")
