"""Automated vs personal: whether customers respond when their lead got automated messages or
only personal contact, per lead channel, against the field's figures: re-engagement is about
39.5% without automated messages and about 21.6% with them (DESIGN.md).

What is counted: the leads created in the period that match the filters, in three groups by the
touches counted on the lead (`leads.services._touch_count`):

- with automated messages: at least one automated touch (`automated_touches > 0`), whatever
  personal contact they also got;
- personal contact only: no automated touch and at least one personal outbound touch;
- no touch: neither, shown apart so that leads nobody worked do not flatter or sink either rate.

A lead responded when its customer responded at any time up to now (`Lead.responded_at` is
set: replied, called or wrote in, `Activity.is_customer_response`); the response rate is the
share of a group's leads that responded. Touches and calls per lead are the personal outbound
touches, the automated touches and the personal outbound calls of the group's leads, divided by
its leads. The groups say what happened, not why: a lead may have got automated messages
because nobody called.

One query, a GROUP BY channel over the leads of the period (read from `lead_report_idx` alone on
PostgreSQL); the totals are the sums of its rows. Channel names come from `Lead.Channel`.
"""

from decimal import Decimal

from django.db.models import Count, Q, Sum

from leads.models import Lead
from leads.reports.base import Chart, Column, Figure, Kind, Report, Table, ratio, share

KEY = "engagement"
TITLE = "Automated vs personal"
SUMMARY = "Whether customers respond to leads that got automated messages or only personal contact."

# The field's re-engagement rates the page compares with (DESIGN.md).
FIELD_PERSONAL_RATE = Decimal("39.5")
FIELD_AUTOMATED_RATE = Decimal("21.6")

GROUPS = [
    ("automated", "With automated messages", Q(automated_touches__gt=0), FIELD_AUTOMATED_RATE),
    (
        "personal",
        "Personal contact only",
        Q(automated_touches=0, personal_touches__gt=0),
        FIELD_PERSONAL_RATE,
    ),
    ("untouched", "No touch", Q(automated_touches=0, personal_touches=0), None),
]
TOUCHES = ["personal_touches", "automated_touches", "calls"]
RESPONDED = Q(responded_at__isnull=False)
ALL_CHANNELS = "All channels"


def _group_counts():
    counts = {"leads": Count("pk")}
    for group, _, condition, _ in GROUPS:
        counts[f"{group}_leads"] = Count("pk", filter=condition)
        counts[f"{group}_responded"] = Count("pk", filter=condition & RESPONDED)
        for touches in TOUCHES:
            counts[f"{group}_{touches}"] = Sum(touches, filter=condition)
    return counts


def _summed(rows):
    """The channels' counts added up: the totals over every channel."""
    totals = {}
    for row in rows:
        for name, value in row.items():
            if name != "channel":
                totals[name] = totals.get(name, 0) + (value or 0)
    return totals


def _channel_row(label, counts):
    row = {"label": label, "leads": counts.get("leads", 0)}
    for group, _, _, _ in GROUPS:
        leads = counts.get(f"{group}_leads", 0)
        row[f"{group}_leads"] = leads
        row[f"{group}_rate"] = share(counts.get(f"{group}_responded", 0), leads)
    return row


def _contact_row(key, label, counts, all_leads, field_rate=None):
    leads = counts["leads"]
    row = {
        "key": key,
        "label": label,
        "leads": leads,
        "share_of_leads": share(leads, all_leads),
        "responded": counts["responded"],
        "rate": share(counts["responded"], leads),
        "field_rate": field_rate,
    }
    for touches in TOUCHES:
        row[f"{touches}_per_lead"] = ratio(counts[touches], leads)
    return row


def _contact_rows(totals):
    """One row per group, then all leads (the groups split the leads between them)."""
    names = ["leads", "responded", *TOUCHES]
    by_group = {
        group: {name: totals.get(f"{group}_{name}", 0) for name in names}
        for group, _, _, _ in GROUPS
    }
    everyone = {name: sum(counts[name] for counts in by_group.values()) for name in names}
    return [
        *(
            _contact_row(group, label, by_group[group], everyone["leads"], field_rate)
            for group, label, _, field_rate in GROUPS
        ),
        _contact_row("all", "All leads", everyone, everyone["leads"]),
    ]


def build(filters, today):
    by_channel = list(
        filters.leads().values("channel").annotate(**_group_counts()).order_by("channel")
    )
    totals = _summed(by_channel)
    contact = _contact_rows(totals)
    rates = {row["key"]: row for row in contact}
    channel_names = dict(Lead.Channel.choices)

    figures = [
        Figure("leads", "Leads", totals.get("leads", 0), Kind.COUNT),
        Figure(
            "personal_rate",
            "Responded after personal contact only",
            rates["personal"]["rate"],
            benchmark=FIELD_PERSONAL_RATE,
            benchmark_text="The field: about 39.5% re-engage without automated messages.",
        ),
        Figure(
            "automated_rate",
            "Responded after automated messages",
            rates["automated"]["rate"],
            benchmark=FIELD_AUTOMATED_RATE,
            benchmark_text="The field: about 21.6% re-engage with them.",
        ),
        Figure(
            "untouched_share",
            "Leads not touched at all",
            rates["untouched"]["share_of_leads"],
            help="No personal and no automated touch: nobody worked them.",
        ),
    ]
    contact_table = Table(
        key="by_contact",
        title="By how leads were contacted",
        columns=[
            Column("label", "Contact", Kind.TEXT),
            Column("leads", "Leads"),
            Column("share_of_leads", "Share of leads", Kind.PERCENT),
            Column("responded", "Responded"),
            Column("rate", "Response rate", Kind.PERCENT),
            Column("field_rate", "The field", Kind.PERCENT),
            Column("personal_touches_per_lead", "Personal touches per lead", Kind.NUMBER),
            Column("automated_touches_per_lead", "Automated touches per lead", Kind.NUMBER),
            Column("calls_per_lead", "Calls per lead", Kind.NUMBER),
        ],
        rows=contact,
        note="With automated messages: whatever personal contact the lead also got.",
        chart=Chart(value="rate", title="Response rate by how leads were contacted"),
    )
    channel_rows = sorted(
        (
            _channel_row(channel_names.get(row["channel"], row["channel"]), row)
            | {"channel": row["channel"]}
            for row in by_channel
        ),
        key=lambda row: (-row["leads"], row["label"]),
    )
    if channel_rows:
        channel_rows.append(_channel_row(ALL_CHANNELS, totals) | {"channel": None})
    channel_table = Table(
        key="by_channel",
        title="By lead channel",
        columns=[
            Column("label", "Channel", Kind.TEXT),
            Column("leads", "Leads"),
            Column("automated_leads", "With automated: leads"),
            Column("automated_rate", "With automated: response rate", Kind.PERCENT),
            Column("personal_leads", "Personal only: leads"),
            Column("personal_rate", "Personal only: response rate", Kind.PERCENT),
            Column("untouched_leads", "No touch: leads"),
            Column("untouched_rate", "No touch: response rate", Kind.PERCENT),
        ],
        rows=channel_rows,
        chart=Chart(
            value="automated_rate",
            compare="personal_rate",
            current_label="With automated messages",
            compare_label="Personal contact only",
            title="Response rate by channel: with automated messages against personal only",
        ),
    )
    return Report(
        key=KEY,
        title=TITLE,
        description=(
            "The leads created in the period, by whether they got automated messages (with or "
            "without personal contact), only personal contact, or no touch at all, and how many "
            "of their customers responded (replied, called or wrote in). Personal beats "
            "automated: in the field about 39.5% re-engage without automated messages, about "
            "21.6% with them."
        ),
        filters=filters,
        figures=figures,
        tables=[contact_table, channel_table],
    )
