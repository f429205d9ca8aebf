"""What a service customer is worth and how likely they are to stop coming: spend and visits in
the last year, the last visit, open issues, and a retention segment from those.

The figures are computed in SQL, as annotations on a Customer queryset, each defined once
(`_opportunity_figures`) and computed in one of two ways: for a few customers (a page of the
list, one customer's page) as subqueries over each customer's own opportunities, which the
(customer, checked_in_at) index finds (`with_values`); for filtering every customer by segment
as one GROUP BY over customers joined to their opportunities (`with_values_grouped`). Open
issues are a subquery either way, through the partial index on open issues.

The segment is the first rule that fits, in this order (`segment_rules` says it in words):

1. lapsed   no visit in the last 18 months (LAPSED_DAYS), or no visit at all yet: the customer
            has gone elsewhere or never came; win them back with an offer.
2. at risk  no visit in the last 9 months (AT_RISK_DAYS), or an open issue: the next service is
            overdue or something is wrong; call them before they go.
3. new      one visit ever, in the last 3 months (NEW_DAYS): make the second visit happen.
4. loyal    2 or more visits and at least LOYAL_SPEND spent in the last 12 months.
5. active   everyone else: visited in the last 9 months, no open issue.

A visit is an opportunity checked in (`checked_in_at`); spend is what was invoiced on the
opportunities delivered (`actual_value`, `delivered_at`). "In the last N days" means from
midnight N days before today, in the dealership's time zone.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import models
from django.db.models import Case, Count, Exists, Max, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from dealercrm.models import Customer
from service.models import CustomerIssue, ServiceOpportunity

YEAR_DAYS = 365
LAPSED_DAYS = 548  # 18 months
AT_RISK_DAYS = 274  # 9 months
NEW_DAYS = 91  # 3 months
LOYAL_VISITS = 2
LOYAL_SPEND = Decimal("1000.00")


class Segment(models.TextChoices):
    LAPSED = "lapsed", "Lapsed"
    AT_RISK = "at_risk", "At risk"
    NEW = "new", "New"
    LOYAL = "loyal", "Loyal"
    ACTIVE = "active", "Active"


def segment_rules(money_text=None):
    """The rules in words, in the order they are tried: [(segment, words)]. Without
    `money_text` (for someone who may not see service money) the spend threshold is not named."""
    spend = f"at least {money_text(LOYAL_SPEND)}" if money_text else "a high spend"
    return [
        (Segment.LAPSED, "No visit in the last 18 months, or no visit yet."),
        (Segment.AT_RISK, "No visit in the last 9 months, or an issue still open."),
        (Segment.NEW, "A first and only visit in the last 3 months."),
        (
            Segment.LOYAL,
            f"{LOYAL_VISITS} or more visits and {spend} spent in the last 12 months.",
        ),
        (Segment.ACTIVE, "Everyone else: a visit in the last 9 months and no open issue."),
    ]


@dataclass(frozen=True)
class CustomerValue:
    customer_id: int
    spend: Decimal  # invoiced in the last 12 months
    visits: int  # check-ins in the last 12 months
    visits_ever: int
    last_visit: datetime | None
    open_issues: int
    segment: str

    @property
    def segment_label(self):
        return Segment(self.segment).label


def _since(today, days):
    return timezone.make_aware(datetime.combine(today - timedelta(days=days), time.min))


MONEY = models.DecimalField(max_digits=12, decimal_places=2)
COUNT = models.IntegerField()


def _opportunity_figures(today, path=""):
    """The figures taken from a customer's opportunities, each defined once: {name: (aggregate,
    output field, value when they have none)}. `path` leads from where the aggregate runs to
    the opportunities: "" over the opportunities themselves, "service_opportunities__" over
    customers."""
    year_ago = _since(today, YEAR_DAYS)

    def to(name):
        return f"{path}{name}"

    delivered = Q(
        **{to("status"): ServiceOpportunity.Status.WON, to("delivered_at__gte"): year_ago}
    )
    return {
        "spend": (Sum(to("actual_value"), filter=delivered), MONEY, Decimal("0.00")),
        "visits": (Count(to("id"), filter=Q(**{to("checked_in_at__gte"): year_ago})), COUNT, 0),
        "visits_ever": (
            Count(to("id"), filter=Q(**{to("checked_in_at__isnull"): False})),
            COUNT,
            0,
        ),
        "last_visit": (Max(to("checked_in_at")), models.DateTimeField(), None),
    }


def _per_customer(queryset, aggregate, output_field, empty=None):
    """`aggregate` over the customer's rows of `queryset`; `empty` when they have none."""
    rows = (
        queryset.filter(customer_id=OuterRef("pk"))
        .order_by()
        .values("customer_id")
        .annotate(figure=aggregate)
        .values("figure")
    )
    return _or_empty(Subquery(rows, output_field=output_field), output_field, empty)


def _or_empty(expression, output_field, empty):
    if empty is None:
        return expression
    return Coalesce(expression, Value(empty, output_field=output_field), output_field=output_field)


def _open_issues(empty=0):
    return _per_customer(
        CustomerIssue.objects.filter(status=CustomerIssue.Status.OPEN), Count("*"), COUNT, empty
    )


def with_values(queryset, today):
    """`queryset` (of customers) with their figures and segment as of `today`: spend, visits,
    visits_ever, last_visit, open_issues, segment. Each figure is a subquery over the
    customer's own rows: for a few customers (a page of them, one customer's page)."""
    opportunities = ServiceOpportunity.objects.all()
    figures = {
        name: _per_customer(opportunities, aggregate, output_field, empty)
        for name, (aggregate, output_field, empty) in _opportunity_figures(today).items()
    }
    return queryset.annotate(**figures, open_issues=_open_issues()).annotate(
        segment=segment_case(today)
    )


def with_values_grouped(queryset, today):
    """The same figures and segment as `with_values`, as one GROUP BY over the customers
    joined to their opportunities (customers without any are left out): for filtering every
    customer by segment, where a subquery per customer and figure would run hundreds of
    thousands of times."""
    figures = {
        name: _or_empty(aggregate, output_field, empty)
        for name, (aggregate, output_field, empty) in _opportunity_figures(
            today, "service_opportunities__"
        ).items()
    }
    # The open issues stay a bare subquery (NULL for none): wrapped in COALESCE, it would be
    # grouped by, and run once per opportunity instead of once per customer.
    return (
        queryset.filter(service_opportunities__isnull=False)
        .annotate(**figures, open_issues=_open_issues(empty=None))
        .annotate(segment=segment_case(today))
    )


def segment_case(today):
    """The segment rules as one SQL CASE over the figures `with_values` annotates."""
    return Case(
        When(
            Q(last_visit__isnull=True) | Q(last_visit__lt=_since(today, LAPSED_DAYS)),
            then=Value(Segment.LAPSED.value),
        ),
        When(
            Q(last_visit__lt=_since(today, AT_RISK_DAYS)) | Q(open_issues__gt=0),
            then=Value(Segment.AT_RISK.value),
        ),
        When(
            visits_ever=1,
            last_visit__gte=_since(today, NEW_DAYS),
            then=Value(Segment.NEW.value),
        ),
        When(
            visits__gte=LOYAL_VISITS,
            spend__gte=LOYAL_SPEND,
            then=Value(Segment.LOYAL.value),
        ),
        default=Value(Segment.ACTIVE.value),
        output_field=models.CharField(),
    )


def value_of(customer):
    """The figures of a customer loaded through `with_values`."""
    return CustomerValue(
        customer_id=customer.pk,
        spend=Decimal(customer.spend).quantize(Decimal("0.01")),
        visits=customer.visits,
        visits_ever=customer.visits_ever,
        last_visit=customer.last_visit,
        open_issues=customer.open_issues or 0,
        segment=customer.segment,
    )


def customer_values(customer_ids, today: date):
    """{customer id: CustomerValue} for these customers as of `today`, in one query."""
    ids = list(customer_ids)
    if not ids:
        return {}
    customers = with_values(Customer.objects.filter(pk__in=ids).only("pk"), today)
    return {customer.pk: value_of(customer) for customer in customers}


def customer_search(text):
    """Customers matching `text`, as a Q (None for no text): every word in the first or last
    name, or the e-mail, or, when it has at least four digits, the phone number (stored in
    E.164, so the digits match however they were typed)."""
    text = (text or "").strip()
    if not text:
        return None
    words = Q()
    for word in text.split():
        words &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    match = words | Q(email__icontains=text)
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 4:
        match |= Q(phone__contains=digits)
    return match


def service_customers(today, *, segment="", search=None):
    """Customers who have had service work, with their figures, by name: for the customers
    list. `search` is a Q over the customer's fields; `segment` keeps one segment.

    Unfiltered, the figures are computed for the page shown only; filtered by segment, every
    service customer's must be (in one GROUP BY)."""
    customers = Customer.objects.all() if search is None else Customer.objects.filter(search)
    if segment:
        customers = with_values_grouped(customers, today).filter(segment=segment)
    else:
        customers = with_values(
            customers.filter(Exists(ServiceOpportunity.objects.filter(customer_id=OuterRef("pk")))),
            today,
        )
    return customers.order_by("last_name", "first_name", "pk")
