"""A salesperson logs in and out through the real login form, in Chromium."""

import re

import pytest
from playwright.sync_api import expect

from dealercrm.models import Role
from tests.factories import make_staff

PASSWORD = "showroom-floor-42"


@pytest.fixture
def alice(sales_team):
    return make_staff(
        Role.SALESPERSON, sales_team, username="alice", first_name="Alice", password=PASSWORD
    )


def test_a_salesperson_logs_in_sees_her_name_and_logs_out(page, live_server, login, alice):
    login(page, live_server, "alice", PASSWORD)

    expect(page).not_to_have_url(re.compile("/accounts/login/"))
    log_out = page.get_by_role("button", name="Log out alice")
    expect(log_out).to_be_visible()

    log_out.click()

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_have_count(0)
    # The session is gone, not only the button: the lead list sends her back to log in.
    page.goto("/leads/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/leads/")


def test_a_wrong_password_keeps_her_out_with_a_message(page, live_server, login, alice):
    login(page, live_server, "alice", "not-her-password")

    expect(page.get_by_text("didn't match")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Log out"))).to_have_count(0)
    expect(page.get_by_label("Username", exact=True)).to_have_value("alice")


def test_on_a_phone_the_log_out_button_is_on_screen(phone_page, live_server, login, alice):
    login(phone_page, live_server, "alice", PASSWORD)

    expect(phone_page.get_by_role("button", name="Log out alice")).to_be_in_viewport()
