"""Sources: what each sender of leads brought in the period, counted per customer, and what a
qualified customer and a sale cost from it.

What is counted, over the leads created in the period that match the filters, per source (the
lead's `source` key; a source nobody configured as a LeadSource still appears, named by its
key):

- *Leads*: every lead. *Customers*: the distinct customers among them.
- Per customer, not per lead, because a customer who sends two inquiries is one buyer:
  *qualified* customers have a lead from the source that was qualified or beyond
  (`qualified_at`) or that a disqualification audit returned to work (`audit_returned_at`, it
  was wrongly disqualified); *appointments*: a lead with an appointment ever set
  (`appointment_set_at`); *sold*: a lead whose status is sold. Shares are of the source's
  customers.
- *Cost*, when the source has a `LeadSource.cost_per_lead`: cost per lead × leads; the cost per
  qualified customer and per sale divide it by those customers (to the cent, half up). Without
  a configured cost the money columns are empty, not zero.
- The *all sources* row counts each customer once however many sources sent them, so its
  customer counts are not the sum of the rows. Its cost is the sum over the sources with a
  cost, and its cost per qualified customer and per sale divide that by the distinct qualified
  and sold customers of those sources only, so a free source does not make paid leads look
  cheap.

Two queries: the configured sources' names and costs, then one UNION ALL of a GROUP BY source
over the leads of the period and the same counts over all of them (both read from
`lead_report_idx` alone on PostgreSQL).
"""

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import BigIntegerField, CharField, Count, F, Q, Value
from django.db.models.functions import Cast

from leads.models import LeadSource, LeadStatus
from leads.reports.base import Chart, Column, Figure, Kind, Report, Table, share

KEY = "sources"
TITLE = "Sources"
SUMMARY = (
    "Leads, qualified, appointments and sales per source, "
    "per unique customer, and what a sale costs."
)

ALL_SOURCES = "All sources"
CENT = Decimal("0.01")

QUALIFIED = Q(qualified_at__isnull=False) | Q(audit_returned_at__isnull=False)
APPOINTMENT = Q(appointment_set_at__isnull=False)
SOLD = Q(status=LeadStatus.SOLD)


def _customer_counts():
    """The distinct customers, and those qualified, with an appointment and sold."""
    return {
        "customers": Count("customer", distinct=True),
        "qualified": Count("customer", distinct=True, filter=QUALIFIED),
        "appointments": Count("customer", distinct=True, filter=APPOINTMENT),
        "sold": Count("customer", distinct=True, filter=SOLD),
    }


class NoCount(Cast):
    """0 where a UNION ALL branch has nothing to count, typed as COUNT's result: branches that
    disagree on a column's type get a projection on top, which PostgreSQL will not run in
    parallel. A constant, so not grouped by."""

    def __init__(self):
        super().__init__(Value(0), BigIntegerField())

    def get_group_by_cols(self):
        return []


def _counts(filters, paid_keys):
    """The counts of each source of the period, and of all of them together (each customer
    once however many sources sent them, with the qualified and sold customers of the
    `paid_keys` sources together, which the overall costs are spread over): ({key: counts},
    counts), in one query.

    The two are branches of a UNION ALL, which PostgreSQL runs side by side (a Parallel Append):
    counting distinct customers cannot be split among workers, but each branch can have one."""
    counts = {"leads": Count("created_at"), **_customer_counts()}
    if paid_keys:
        paid = Q(source__in=sorted(paid_keys))
        across_paid = {
            "paid_qualified": Count("customer", distinct=True, filter=paid & QUALIFIED),
            "paid_sold": Count("customer", distinct=True, filter=paid & SOLD),
        }
    else:
        across_paid = {"paid_qualified": NoCount(), "paid_sold": NoCount()}
    per_source = (
        filters.leads()
        .annotate(key=F("source"))
        .values("key")
        .annotate(**counts, paid_qualified=NoCount(), paid_sold=NoCount())
        .order_by()
    )
    # A lead always has a source: the branch without one is the whole.
    whole = (
        filters.leads()
        .annotate(key=Value(None, output_field=CharField()))
        .values("key")
        .annotate(**counts, **across_paid)
        .order_by()
    )
    rows = list(per_source.union(whole, all=True))
    by_source = {row["key"]: row for row in rows if row["key"] is not None}
    return by_source, next(row for row in rows if row["key"] is None)


def _per(cost, customers):
    if cost is None or not customers:
        return None
    return (cost / customers).quantize(CENT, ROUND_HALF_UP)


def _row(label, counts, cost_per_lead=None, cost=None, costed=None):
    """A table row; `costed` are the customer counts that `cost` is spread over (the row's own
    when not given)."""
    costed = costed or counts
    customers = counts["customers"]
    return {
        "label": label,
        "leads": counts["leads"],
        "customers": customers,
        "qualified": counts["qualified"],
        "qualified_share": share(counts["qualified"], customers),
        "appointments": counts["appointments"],
        "appointment_share": share(counts["appointments"], customers),
        "sold": counts["sold"],
        "sold_share": share(counts["sold"], customers),
        "cost_per_lead": cost_per_lead,
        "cost": cost,
        "cost_per_qualified": _per(cost, costed["qualified"]),
        "cost_per_sale": _per(cost, costed["sold"]),
    }


COLUMNS = [
    Column("label", "Source", Kind.TEXT),
    Column("leads", "Leads"),
    Column("customers", "Customers", help="Distinct customers among the leads."),
    Column("qualified", "Qualified customers", help="Qualified or beyond, or returned by audit."),
    Column("qualified_share", "Qualified", Kind.PERCENT, "Of the customers."),
    Column("appointments", "Customers with an appointment"),
    Column("appointment_share", "Appointment", Kind.PERCENT, "Of the customers."),
    Column("sold", "Customers sold"),
    Column("sold_share", "Sold", Kind.PERCENT, "Of the customers."),
    Column("cost_per_lead", "Cost per lead", Kind.MONEY),
    Column("cost", "Cost", Kind.MONEY, "Cost per lead × leads."),
    Column("cost_per_qualified", "Cost per qualified customer", Kind.MONEY),
    Column("cost_per_sale", "Cost per sale", Kind.MONEY, "Cost ÷ customers sold."),
]


def build(filters, today):
    # Read first, so that the count knows which sources cost money; a handful of rows.
    configured = {
        source.key: source for source in LeadSource.objects.only("key", "name", "cost_per_lead")
    }
    paid_keys = {key for key, source in configured.items() if source.cost_per_lead is not None}
    by_source, overall = _counts(filters, paid_keys)

    costs = {
        key: configured[key].cost_per_lead * counts["leads"]
        for key, counts in by_source.items()
        if key in paid_keys
    }
    rows = []
    for key, counts in by_source.items():
        source = configured.get(key)
        row = _row(
            source.name if source else key,
            counts,
            cost_per_lead=source.cost_per_lead if source else None,
            cost=costs.get(key),
        )
        rows.append(row | {"source": key})
    rows.sort(key=lambda row: (-row["leads"], row["label"]))
    total = _row(
        ALL_SOURCES,
        overall,
        cost=sum(costs.values()) if costs else None,
        costed={"qualified": overall["paid_qualified"], "sold": overall["paid_sold"]},
    )
    total["source"] = ""

    figures = [
        Figure("leads", "Leads", overall["leads"], Kind.COUNT),
        Figure(
            "customers",
            "Customers",
            overall["customers"],
            Kind.COUNT,
            help="Each counted once, however many leads they sent.",
        ),
        Figure("sold", "Customers sold", overall["sold"], Kind.COUNT),
        Figure(
            "cost_per_sale",
            "Cost per sale",
            total["cost_per_sale"],
            Kind.MONEY,
            help="Over the sources with a cost per lead.",
        ),
    ]
    for row in [*rows, total]:
        row["all_sources_sold_share"] = total["sold_share"]
    return Report(
        key=KEY,
        title=TITLE,
        description=(
            "What each source brought: leads, and the customers behind them — a customer who "
            "sent several inquiries counts once — how many were qualified, came to an "
            "appointment and bought, and, for the sources with a cost per lead, what a "
            "qualified customer and a sale cost."
        ),
        filters=filters,
        figures=figures,
        tables=[
            Table(
                key="by_source",
                title="By source",
                columns=COLUMNS,
                rows=[*rows, total] if rows else [],
                note=(
                    "The last row counts each customer once across sources, so it is not the "
                    "sum of the rows; its costs are over the sources with a cost per lead."
                ),
                chart=Chart(
                    value="sold_share",
                    compare="all_sources_sold_share",
                    title="Share of customers sold, by source",
                    current_label="This source",
                    compare_label="All sources",
                ),
            ),
        ],
    )
