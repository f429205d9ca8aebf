"""Reads of the shared core."""

from django.db import connection

from dealercrm.models import Customer, Notification


def customer_match_sql(email, phone):
    """SQL for a scalar subquery, with its parameters: the id of the customer with this
    normalised e-mail (the newest when several), else with this phone, else NULL.

    Written out because intake runs it for every lead, inside one round trip with its other
    questions (`leads.intake`), and building it through the ORM costs more than running it.
    Each branch states its partial index's condition (`<> ''`): SQLite uses a partial index only
    when the query states the index's WHERE clause.
    """
    table = connection.ops.quote_name(Customer._meta.db_table)
    sql = (
        f"COALESCE("
        f"(SELECT id FROM {table} WHERE email = %s AND email <> '' "
        f"ORDER BY created_at DESC, id DESC LIMIT 1), "
        f"(SELECT id FROM {table} WHERE phone = %s AND phone <> '' "
        f"ORDER BY created_at DESC, id DESC LIMIT 1))"
    )
    return sql, [email, phone]


def customer_matching(*, email="", phone=""):
    """The customer with this normalised e-mail, else with this phone (see customer_match_sql),
    or None."""
    if not (email or phone):
        return None
    sql, params = customer_match_sql(email, phone)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        (customer_id,) = cursor.fetchone()
    return None if customer_id is None else Customer.objects.get(pk=customer_id)


def notifications_for_user(user):
    """The user's notifications, newest first (unread and read), for their list."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_notification_count(user):
    """How many of the user's notifications are unread: one count over the partial unread
    index, whatever their history holds."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
