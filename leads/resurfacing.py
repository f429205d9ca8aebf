"""Customers who come back: a quiet lead whose customer is still shopping on the dealer's site
("not lost"), and a closed one whose customer shows buying behaviour again (reactivation).

Between 13.7% and 21.6% of the leads dealers give up on, or leave untouched for 7, 14 or 21
days, are still browsing the dealer's site (DESIGN.md). These writers, called by the sweeps in
`leads.tasks`, bring those customers back to a salesperson with what they looked at, once: each
comeback is claimed by a conditional write before anyone is told, so a second run or a second
cluster finds nothing left to do.

The quiet-lead claims are written-out SQL (`UPDATE ... RETURNING`, which PostgreSQL and SQLite
both speak): flagging a million-row table by tier must cost what a bare UPDATE costs, and the ORM
cannot return the rows an update changed.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dealercrm.models import lead_owner_refusal, person_name
from dealercrm.services import notification_build, notifications_send_many
from leads.errors import ActorRequired
from leads.models import (
    OPEN_STATUSES,
    FollowUpTask,
    Lead,
    LeadEvent,
    LeadStatus,
    LifecycleSettings,
    Resurfacing,
    WebEvent,
)
from leads.routing import lead_managers, lead_reroute
from leads.services import lead_reopen

STALE_JOB = "sweep:stale"
REACTIVATION_JOB = "sweep:reactivation"
# Website events reach the CRM minutes after they happen (trackers send in batches), so the
# windows over last-seen times reach back this far; the claims make a second look harmless.
LATENESS = timedelta(hours=1)
# Disqualified for these, a lead is never brought back by website activity: there was no real
# buyer behind it, or another lead is the live one.
NEVER_REACTIVATED = frozenset({"spam", "invalid_contact", "duplicate"})
# Actions on the site that say "buying" louder than a page view; named in the evidence.
BUYING_ACTIONS = (
    WebEvent.Type.FORM_SUBMIT,
    WebEvent.Type.CHAT_STARTED,
    WebEvent.Type.CALL_CLICK,
    WebEvent.Type.TEXT_CLICK,
    WebEvent.Type.DIRECTIONS_CLICK,
    WebEvent.Type.TRADE_IN_VALUATION,
    WebEvent.Type.PAYMENT_CALCULATOR,
)
FORM_TYPES = frozenset({WebEvent.Type.FORM_VIEW, WebEvent.Type.FORM_SUBMIT})
VEHICLES_NAMED = 3

_OPEN = sorted(OPEN_STATUSES)


# --- evidence -----------------------------------------------------------------------------------


@dataclass
class Evidence:
    """What a customer did on the website after `since`: what the salesperson is told and the
    resurfacing keeps."""

    since: datetime
    sessions: int = 0
    vehicle_views: int = 0
    vehicles: list = field(default_factory=list)  # labels, most viewed first
    form_views: int = 0
    actions: list = field(default_factory=list)  # labels of BUYING_ACTIONS, in that order
    last_seen_at: datetime | None = None

    def as_json(self):
        data = asdict(self)
        data["since"] = self.since.isoformat()
        data["last_seen_at"] = self.last_seen_at.isoformat() if self.last_seen_at else None
        return data

    @cached_property  # read for the history, the record and the notification alike
    def summary(self):
        """The evidence in a sentence, e.g. "2 visits since Nov 12, last Nov 20 09:52; looked
        at Kia EV6 (3 views), Kia Sorento; opened a form; payment calculator"."""
        since = timezone.localtime(self.since)
        visits = f"{self.sessions} visit{'s' if self.sessions != 1 else ''} since {since:%b %-d}"
        if self.last_seen_at:
            visits += f", last {timezone.localtime(self.last_seen_at):%b %-d %H:%M}"
        parts = [visits]
        if self.vehicles:
            shown = ", ".join(self.vehicles)
            parts.append(f"looked at {shown}")
        if self.form_views:
            parts.append("opened a form" if self.form_views == 1 else "opened forms")
        parts += [action.lower() for action in self.actions]
        return "; ".join(parts)[:300]

    def shows_buying(self, rules):
        """Whether this is buying behaviour by the dealership's `rules` (LifecycleSettings):
        any threshold that is set and reached."""
        thresholds = (
            (rules.reactivation_sessions, self.sessions),
            (rules.reactivation_vehicle_views, self.vehicle_views),
            (rules.reactivation_form_views, self.form_views),
        )
        return any(wanted and seen >= wanted for wanted, seen in thresholds)


def _vehicle_label(key, make, model):
    label = f"{make} {model}".strip()
    if label:
        return label
    if key.startswith("stock:"):
        return f"stock {key[6:]}"
    return f"VIN …{key[-6:]}" if key else "a vehicle"


def _as_datetime(value):
    # SQLite answers raw queries with text; PostgreSQL with aware datetimes.
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def comeback_evidence(windows, now):
    """{lead id: Evidence} of what each customer did on the website after `since` and up to
    `now`, for `windows`: (lead id, customer id, since) triples. One query, through the
    (customer, occurred_at) index: its cost follows the events in the windows."""
    if not windows:
        return {}
    adapt = connection.ops.adapt_datetimefield_value
    rows_sql = ", ".join(["(%s, %s, %s)"] * len(windows))
    params = [value for lead_id, customer_id, since in windows
              for value in (lead_id, customer_id, adapt(since))]  # fmt: skip
    events = connection.ops.quote_name(WebEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH w (lead_id, customer_id, since) AS (VALUES {rows_sql})"
            " SELECT w.lead_id, e.session_key, e.type, e.vehicle_key, MAX(e.make), MAX(e.model),"
            " COUNT(*), MAX(e.occurred_at)"
            f" FROM w JOIN {events} e ON e.customer_id = w.customer_id"
            " AND e.occurred_at > w.since AND e.occurred_at <= %s"
            " GROUP BY w.lead_id, e.session_key, e.type, e.vehicle_key",
            [*params, adapt(now)],
        )
        rows = cursor.fetchall()
    evidence = {lead_id: Evidence(since=since) for lead_id, _, since in windows}
    sessions = defaultdict(set)
    views = defaultdict(lambda: defaultdict(int))
    labels = {}
    actions = defaultdict(set)
    for lead_id, session, type_, key, make, model, count, last in rows:
        found = evidence[lead_id]
        sessions[lead_id].add(session)
        last = _as_datetime(last)
        found.last_seen_at = max(filter(None, (found.last_seen_at, last)))
        if type_ == WebEvent.Type.VEHICLE_VIEW:
            found.vehicle_views += count
            views[lead_id][key] += count
            labels[key] = labels.get(key) or _vehicle_label(key, make, model)
        if type_ in FORM_TYPES:
            found.form_views += count
        if type_ in BUYING_ACTIONS:
            actions[lead_id].add(type_)
    for lead_id, found in evidence.items():
        found.sessions = len(sessions[lead_id])
        ranked = sorted(views[lead_id].items(), key=lambda item: (-item[1], labels[item[0]]))
        found.vehicles = [
            labels[key] + (f" ({count} views)" if count > 1 else "")
            for key, count in ranked[:VEHICLES_NAMED]
        ]
        found.actions = [
            WebEvent.Type(type_).label for type_ in BUYING_ACTIONS if type_ in actions[lead_id]
        ]
    return evidence


# --- quiet leads (the stale sweep) ------------------------------------------------------------


def _lead_table():
    return connection.ops.quote_name(Lead._meta.db_table)


def _window(column, lower_op, lower, upper):
    """SQL (and its parameters) keeping `column` up to `upper`, and past `lower` by `lower_op`
    unless `lower` is None (a sweep's first run has no window start)."""
    adapt = connection.ops.adapt_datetimefield_value
    if lower is None:
        return f"{column} <= %s", [adapt(upper)]
    return f"{column} {lower_op} %s AND {column} <= %s", [adapt(lower), adapt(upper)]


def _returning(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def leads_quiet_claim(tier, *, quiet_from, quiet_until, now, limit):
    """Flag with `tier` (days) up to `limit` open leads whose last CRM activity is in
    (`quiet_from`, `quiet_until`] (no lower bound when `quiet_from` is None: a first run) and
    whose flag is lower: exactly `tier` days after its last activity a lead is quiet. In the
    same statement, the ones whose customer was on the website since that activity (and up to
    `now`) are marked resurfaced at `now`, unless they already were.
    Returns [(lead id, resurfaced now)].

    The claim is the conditional UPDATE: a parallel sweep that reaches the same rows waits for
    their locks, finds their flag already at `tier` (PostgreSQL re-checks the condition) and
    leaves them. The inner select goes through the (status, last_activity_at) index.
    """
    adapt = connection.ops.adapt_datetimefield_value
    table = _lead_table()
    statuses = ", ".join(["%s"] * len(_OPEN))
    window, window_params = _window("last_activity_at", ">", quiet_from, quiet_until)
    rows = _returning(
        f"UPDATE {table} SET stale_tier = %s,"
        " quiet_tier_reached = CASE WHEN quiet_tier_reached < %s THEN %s"
        " ELSE quiet_tier_reached END,"
        " resurfaced_at = CASE WHEN resurfaced_at IS NULL AND last_seen_at > last_activity_at"
        " AND last_seen_at <= %s THEN %s ELSE resurfaced_at END"
        f" WHERE id IN (SELECT id FROM {table} WHERE status IN ({statuses}) AND {window}"
        " AND stale_tier < %s LIMIT %s) AND stale_tier < %s"
        " RETURNING id, resurfaced_at = %s",
        [
            tier,
            tier,
            tier,
            adapt(now),
            adapt(now),
            *_OPEN,
            *window_params,
            tier,
            limit,
            tier,
            adapt(now),
        ],
    )
    return [(lead_id, bool(resurfaced)) for lead_id, resurfaced in rows]


def leads_seen_while_quiet_claim(*, seen_from, now, limit):
    """Mark resurfaced at `now` up to `limit` leads already flagged quiet whose customer came to
    the website after their last CRM activity, seen from `seen_from` (None: any time) up to
    `now`, and not resurfaced yet. Returns their ids. Claimed like `leads_quiet_claim`; the
    inner select goes through the partial index of quiet leads by last-seen time."""
    adapt = connection.ops.adapt_datetimefield_value
    table = _lead_table()
    seen, seen_params = _window("last_seen_at", ">=", seen_from, now)
    rows = _returning(
        f"UPDATE {table} SET resurfaced_at = %s WHERE id IN (SELECT id FROM {table}"
        f" WHERE stale_tier > 0 AND resurfaced_at IS NULL AND {seen}"
        " AND last_seen_at > last_activity_at LIMIT %s) AND resurfaced_at IS NULL RETURNING id",
        [adapt(now), *seen_params, limit],
    )
    return [lead_id for (lead_id,) in rows]


@transaction.atomic
def quiet_leads_resurface(lead_ids, *, now):
    """Tell the owners of the quiet leads `lead_ids` (claimed by the functions above) that their
    customer is still shopping, with what they looked at since the last CRM activity. Runs in
    the claim's transaction. Returns the resurfacings."""
    if not lead_ids:
        return []
    leads = list(
        Lead.objects.filter(pk__in=lead_ids)
        .select_related("customer", "owner__staff", "team")
        .order_by("pk")
    )
    evidence = comeback_evidence(
        [(lead.pk, lead.customer_id, lead.last_activity_at) for lead in leads], now
    )
    events = [
        LeadEvent(
            lead=lead,
            kind=LeadEvent.Kind.RESURFACED,
            at=now,
            actor_label=STALE_JOB,
            note=f"Quiet for {lead.stale_tier} days, still shopping: {evidence[lead.pk].summary}"[
                :1000
            ],
        )
        for lead in leads
    ]
    LeadEvent.objects.bulk_create(events)
    return _comebacks_tell(
        leads, evidence, kind=Resurfacing.Kind.NOT_LOST, outcome=Resurfacing.Outcome.RESURFACED,
        now=now, by=STALE_JOB,
    )  # fmt: skip


# --- telling people ----------------------------------------------------------------------------


def _owner_gone(lead):
    owner = lead.owner
    return owner is None or bool(lead_owner_refusal(owner, getattr(owner, "staff", None)))


def _comebacks_tell(leads, evidence, *, kind, outcome, now, by, record=True):
    """Give each lead's comeback to a salesperson: the owner, or — when the owner has left or
    the lead waits in a pool — whoever the routing rules choose now; with nobody to choose,
    the team's managers hear of it. Records a Resurfacing per lead with its evidence (unless
    `record` is off: the caller has one), replaces any open "came back" task with one due
    today, and notifies, in set-wise statements (the rare re-routing aside). Returns the
    resurfacings, saved or not, each naming who was given the lead."""
    rerouted = {}
    for lead in leads:
        if _owner_gone(lead):
            gone = lead.owner
            why = "The customer came back" + (
                f" and {person_name(gone)} no longer takes leads."
                if gone
                else " while the lead waited in the pool."
            )
            rerouted[lead.pk] = lead_reroute(lead=lead, by=by, why=why, at=now)
    leads = [rerouted.get(lead.pk, lead) for lead in leads]
    today = timezone.localdate(now)
    FollowUpTask.objects.filter(
        lead__in=leads, kind=FollowUpTask.Kind.RESURFACED, status=FollowUpTask.Status.OPEN
    ).update(
        status=FollowUpTask.Status.CANCELLED,
        closed_at=now,
        closed_note="The customer came back again",
    )
    resurfacings, tasks, notifications = [], [], []
    for lead in leads:
        found = evidence[lead.pk]
        resurfacings.append(
            Resurfacing(
                lead=lead,
                kind=kind,
                outcome=outcome,
                detected_at=now,
                quiet_days=lead.stale_tier or None,
                evidence=found.as_json(),
                summary=found.summary,
                owner_id=lead.owner_id,
            )
        )
        url = reverse("leads:detail", args=[lead.pk])
        if lead.owner_id is not None:
            tasks.append(
                FollowUpTask(
                    lead=lead,
                    assignee_id=lead.owner_id,
                    kind=FollowUpTask.Kind.RESURFACED,
                    title=f"{lead.customer} came back: call today"[:200],
                    due_on=today,
                    created_at=now,
                )
            )
            notifications.append(
                notification_build(
                    recipient_id=lead.owner_id,
                    kind="resurfaced",
                    message=f"{lead.customer} came back: {found.summary}",
                    url=url,
                    at=now,
                )
            )
        else:
            pool = f"the {lead.team.name} pool" if lead.team_id else "the pool"
            notifications += [
                notification_build(
                    recipient_id=manager_id,
                    kind="resurfaced",
                    message=f"{lead.customer} came back while the lead waits in {pool}: "
                    f"{found.summary}",
                    url=url,
                    at=now,
                )
                for manager_id in lead_managers(lead)
            ]
    if record:
        Resurfacing.objects.bulk_create(resurfacings)
    FollowUpTask.objects.bulk_create(tasks)
    notifications_send_many(notifications)
    return resurfacings


# --- closed leads (the reactivation sweep) -----------------------------------------------------


def reactivation_since(lead, rules, now):
    """Where the evidence of a closed lead's comeback starts: its closing, the reactivation
    window, or a manager's dismissal of the last comeback, whichever is latest."""
    since = max(lead.closed_at, now - timedelta(days=rules.reactivation_window_days))
    dismissed = (
        Resurfacing.objects.filter(lead=lead, outcome=Resurfacing.Outcome.DISMISSED)
        .order_by("-decided_at")
        .values_list("decided_at", flat=True)
        .first()
    )
    return max(since, dismissed) if dismissed else since


@transaction.atomic
def lead_reactivate(lead_id, *, now, rules=None):
    """Bring back a closed lead whose customer shows buying behaviour on the website (by the
    dealership's `rules`, LifecycleSettings) since it closed: return it to work with its
    previous owner (or whoever routing chooses, when that person has left), or — in review
    mode — put it in the managers' review queue. The evidence is recorded either way.

    Decided under the lead's row lock, so two sweeps act once. Returns "reopened", "review",
    or None when there is nothing to do (no longer closed, not enough behaviour, already in
    review).
    """
    rules = rules or LifecycleSettings.current()
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("customer", "close_reason")
        .get(pk=lead_id)
    )
    if lead.status not in (LeadStatus.LOST, LeadStatus.DISQUALIFIED):
        return None
    if lead.status == LeadStatus.DISQUALIFIED and (
        lead.close_reason is None or lead.close_reason.code in NEVER_REACTIVATED
    ):
        return None
    if Resurfacing.objects.filter(lead=lead, outcome=Resurfacing.Outcome.REVIEW).exists():
        return None
    since = reactivation_since(lead, rules, now)
    found = comeback_evidence([(lead.pk, lead.customer_id, since)], now)[lead.pk]
    if not found.shows_buying(rules):
        return None
    if rules.reactivation_mode == LifecycleSettings.ReactivationMode.REVIEW:
        Resurfacing.objects.create(
            lead=lead,
            kind=Resurfacing.Kind.REACTIVATION,
            outcome=Resurfacing.Outcome.REVIEW,
            detected_at=now,
            evidence=found.as_json(),
            summary=found.summary,
        )
        notifications_send_many(
            [
                notification_build(
                    recipient_id=manager_id,
                    kind="comeback_review",
                    message=f"{lead.customer} ({lead.get_status_display().lower()}) is "
                    f"shopping again: {found.summary}",
                    url=reverse("leads:comebacks"),
                    at=now,
                )
                for manager_id in lead_managers(lead)
            ]
        )
        return "review"
    _reopen_and_tell(lead, found, by=REACTIVATION_JOB, now=now)
    return "reopened"


def _reopen_and_tell(lead, found, *, by, now, record=True):
    """Return the closed `lead` to work as a comeback and give it to its salesperson (see
    `_comebacks_tell`). Returns the lead as reopened."""
    lead_reopen(
        lead=lead,
        cause=LeadEvent.ReopenCause.RESURFACING,
        by=by,
        note=f"Shopping again: {found.summary}",
        at=now,
    )
    reopened = Lead.objects.select_related("customer", "owner__staff", "team").get(pk=lead.pk)
    told = _comebacks_tell(
        [reopened], {lead.pk: found}, kind=Resurfacing.Kind.REACTIVATION,
        outcome=Resurfacing.Outcome.REOPENED, now=now, by=by, record=record,
    )  # fmt: skip
    return told[0]


@transaction.atomic
def resurfacing_review_decide(*, resurfacing, by, reopen, at=None):
    """A manager decides on a comeback in the review queue: `reopen` returns the lead to work
    with its salesperson (as the sweep would have: routed again when that person has left),
    otherwise it is dismissed, and only website activity after now can bring the lead back.
    A lead someone returned to work meanwhile is left as it is. Returns the resurfacing as
    decided, or None when another manager decided it first."""
    if isinstance(by, str):
        raise ActorRequired("A comeback is reviewed by a person.")
    at = at or timezone.now()
    lead = Lead.objects.select_for_update(of=("self",)).get(pk=resurfacing.lead_id)
    claimed = Resurfacing.objects.filter(
        pk=resurfacing.pk, outcome=Resurfacing.Outcome.REVIEW
    ).update(
        outcome=Resurfacing.Outcome.REOPENED if reopen else Resurfacing.Outcome.DISMISSED,
        decided_by=by,
        decided_at=at,
    )
    if not claimed:
        return None
    resurfacing.refresh_from_db()
    if reopen and lead.status in (LeadStatus.LOST, LeadStatus.DISQUALIFIED):
        evidence = _evidence_from_json(resurfacing.evidence)
        told = _reopen_and_tell(lead, evidence, by=by, now=at, record=False)
        resurfacing.owner_id = told.owner_id
        resurfacing.save(update_fields=["owner"])
    return resurfacing


def _evidence_from_json(data):
    fields = dict(data)
    for name in ("since", "last_seen_at"):
        fields[name] = datetime.fromisoformat(fields[name]) if fields.get(name) else None
    return Evidence(**fields)
