"""A person's notifications: the list, the unread count in the navigation, opening one."""

import pytest
from django.urls import reverse

from dealercrm.models import Notification
from dealercrm.services import notification_send


@pytest.fixture
def alerts(salesperson, other_salesperson):
    sent = [
        notification_send(
            recipient=salesperson, kind="assigned", message=f"Lead {n} is yours", url=f"/leads/{n}/"
        )
        for n in range(3)
    ]
    notification_send(recipient=other_salesperson, kind="assigned", message="Bob's", url="/")
    return sent


def test_the_list_shows_only_ones_own_notifications_newest_first(client, salesperson, alerts):
    client.force_login(salesperson)

    page = client.get(reverse("notifications")).content.decode()

    assert page.index("Lead 2 is yours") < page.index("Lead 0 is yours")
    assert "Bob&#x27;s" not in page and "Bob's" not in page
    assert "3 unread" in page


def test_the_navigation_loads_the_unread_count_without_a_query_on_the_page(
    client, salesperson, alerts
):
    client.force_login(salesperson)

    badge = client.get(reverse("notification_unread")).content.decode()

    assert badge.strip() == '<span class="badge" aria-label="3 unread">3</span>'
    page = client.get(reverse("leads:list")).content.decode()
    assert f'hx-get="{reverse("notification_unread")}"' in page


def test_the_unread_count_is_one_query(client, salesperson, alerts, django_assert_num_queries):
    client.force_login(salesperson)
    client.get(reverse("notification_unread"))

    # session, user, the count.
    with django_assert_num_queries(3):
        client.get(reverse("notification_unread"))


def test_the_list_runs_a_fixed_number_of_queries(
    client, salesperson, alerts, django_assert_num_queries
):
    client.force_login(salesperson)
    for n in range(10):
        notification_send(recipient=salesperson, kind="assigned", message=f"More {n}")
    client.get(reverse("notifications"))  # the navigation's permission checks are cached

    # session, user, the unread count, the page's count, the page.
    with django_assert_num_queries(5):
        client.get(reverse("notifications"))


def test_opening_a_notification_marks_it_read_and_goes_where_it_leads(client, salesperson, alerts):
    client.force_login(salesperson)

    response = client.get(reverse("notification_open", args=[alerts[1].pk]))

    assert response.status_code == 302
    assert response.url == "/leads/1/"
    assert Notification.objects.get(pk=alerts[1].pk).read_at is not None
    assert Notification.objects.get(pk=alerts[0].pk).read_at is None


def test_nobody_opens_someone_elses_notification(client, other_salesperson, alerts):
    client.force_login(other_salesperson)

    response = client.get(reverse("notification_open", args=[alerts[0].pk]))

    assert response.status_code == 404
    assert Notification.objects.get(pk=alerts[0].pk).read_at is None


def test_a_notification_never_leads_off_the_site(client, salesperson):
    notice = notification_send(
        recipient=salesperson, kind="x", message="odd", url="https://elsewhere.example/"
    )
    client.force_login(salesperson)

    response = client.get(reverse("notification_open", args=[notice.pk]))

    assert response.url == reverse("notifications")


def test_mark_all_read_touches_only_ones_own(client, salesperson, other_salesperson, alerts):
    client.force_login(salesperson)

    client.post(reverse("notifications_read_all"))

    assert not Notification.objects.filter(recipient=salesperson, read_at__isnull=True).exists()
    assert (
        Notification.objects.filter(recipient=other_salesperson, read_at__isnull=True).count() == 1
    )
    assert client.get(reverse("notification_unread")).content.decode().strip() == ""


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("notifications"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
