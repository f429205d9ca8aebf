"""What every response tells the browser about where scripts, styles and frames may come from."""

from leads.models import Lead, LeadSource


def test_pages_carry_the_content_security_policy_and_refuse_framing(client, salesperson):
    client.force_login(salesperson)

    response = client.get("/leads/queue/")

    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_hosted_web_form_may_be_framed_by_the_dealers_site(client, sales_team):
    LeadSource.objects.create(
        key="our-site",
        name="Our website",
        channel=Lead.Channel.WEB_FORM,
        team=sales_team,
        form_enabled=True,
    )

    response = client.get("/f/our-site/")

    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
