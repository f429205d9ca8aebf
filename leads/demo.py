"""Demo leads: 60 days of believable history, made through the lead services.

The shapes follow what the field reports (DESIGN.md): about a third of leads are answered within
five minutes, some never; most sales come 8-19 days after the lead; about 60% of disqualified
leads are invalid contacts or spam and a quarter non-target; audits return some disqualified
leads to work. `add_bulk` writes benchmark volumes with bulk inserts instead.
"""

import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from dealercrm.demo import salespeople_by_team
from dealercrm.models import Customer, LifecycleDate, Role, StaffProfile, Team
from dealercrm.schedules import sweep_run
from dealercrm.services import customer_create, staff_create
from leads.models import (
    OPEN_STATUSES,
    QUALIFIED_STATUSES,
    Activity,
    FirstContactBand,
    FollowUpTask,
    Lead,
    LeadEvent,
    LeadSource,
    LeadStatus,
    Reason,
    WebEvent,
)
from leads.services import (
    activity_log,
    lead_assign,
    lead_change_status,
    lead_create,
    lead_reopen,
    leads_touch_counts_refresh,
)
from leads.tasks import response_times_refresh
from leads.tracking import WebEventInput, visitors_link, web_events_record

S = LeadStatus
DEMO_LEADS = 320
DEMO_SOURCE_PREFIX = "demo-"
HISTORY_DAYS = 60

FIRST_NAMES = [
    "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Daniel",
    "Elena", "Chris", "Aisha", "Kenji", "Fatima", "Lucas", "Grace", "Omar", "Chloe", "Ethan",
    "Mei", "Noah", "Zoe", "Samuel", "Ines", "Victor", "Leah", "Andre", "Nora", "Hugo", "Ruth",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Garcia", "Johnson", "Martinez", "Brown", "Lee", "Wilson", "Lopez", "Taylor",
    "Anderson", "Thomas", "Kim", "Moore", "Jackson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker",
]  # fmt: skip
AREA_CODES = ["202", "312", "415", "512", "617", "713", "303", "206"]
VEHICLES = [
    ("Toyota", "Camry", "SE"), ("Toyota", "RAV4", "XLE"), ("Toyota", "Corolla", "LE"),
    ("Honda", "Civic", "Sport"), ("Honda", "CR-V", "EX-L"), ("Ford", "F-150", "XLT"),
    ("Ford", "Escape", "ST-Line"), ("Chevrolet", "Silverado 1500", "LT"),
    ("Chevrolet", "Equinox", "RS"), ("Hyundai", "Tucson", "SEL"), ("Kia", "Sportage", "EX"),
    ("Subaru", "Outback", "Premium"), ("Nissan", "Rogue", "SV"),
    ("Jeep", "Grand Cherokee", "Limited"),
]  # fmt: skip
# (source, channel, weight, base score)
SOURCES = [
    ("dealer-website", Lead.Channel.WEB_FORM, 30, 55),
    ("dealer-website-chat", Lead.Channel.CHAT, 8, 60),
    ("cars.com", Lead.Channel.THIRD_PARTY, 14, 45),
    ("autotrader", Lead.Channel.THIRD_PARTY, 10, 45),
    ("cargurus", Lead.Channel.THIRD_PARTY, 10, 50),
    ("toyota-oem", Lead.Channel.OEM, 8, 50),
    ("facebook-lead-ads", Lead.Channel.SOCIAL, 8, 25),
    ("phone", Lead.Channel.PHONE, 8, 70),
    ("showroom", Lead.Channel.WALK_IN, 4, 80),
]
# (key, name, quality points, team, hosted form, cost per lead): what a manager would configure.
# Marketplaces and ads are paid per lead; the dealer's own channels cost nothing per lead.
SOURCE_SETTINGS = [
    ("dealer-website", "Our website", 10, "New cars", True, None),
    ("dealer-website-chat", "Website chat", 10, "New cars", False, None),
    ("cars.com", "Cars.com", 0, "Used cars", False, Decimal("28.00")),
    ("autotrader", "Autotrader", 0, "Used cars", False, Decimal("24.00")),
    ("cargurus", "CarGurus", 5, "Used cars", False, Decimal("32.00")),
    ("toyota-oem", "Toyota dealer portal", 5, "New cars", False, Decimal("15.00")),
    ("facebook-lead-ads", "Facebook lead ads", -10, "BDC", False, Decimal("12.50")),
    ("phone", "Call tracking", 15, "BDC", False, None),
    ("showroom", "Showroom", 20, "New cars", False, None),
]
PROVIDER_USERNAME = "website-feed"
# Where leads end up, before their age cuts the story short.
OUTCOMES = [
    (S.NEW, 8),
    (S.CONTACTED, 17),
    (S.QUALIFIED, 12),
    (S.APPOINTMENT, 8),
    (S.SOLD, 15),
    (S.LOST, 25),
    (S.DISQUALIFIED, 15),
]
LOST_REASONS = [
    ("bought_elsewhere", 35),
    ("no_response", 25),
    ("price", 15),
    ("postponed", 12),
    ("financing_declined", 8),
    ("vehicle_unavailable", 5),
]
DISQUALIFIED_REASONS = [
    ("invalid_contact", 45),
    ("spam", 15),
    ("non_target", 25),
    ("duplicate", 10),
    ("out_of_area", 5),
]
COMMENTS = [
    "Is this still available? What is the best out-the-door price?",
    "Looking to trade in my current car, please call after 5pm.",
    "Interested in financing options, credit is fair.",
    "Can I schedule a test drive this weekend?",
    "Do you have this in a different color?",
    "",
    "",
]


def _pick(rng, weighted):
    return rng.choices([item[0] for item in weighted], [item[-1] for item in weighted])[0]


def seed(context):
    if Lead.objects.filter(external_id__startswith=DEMO_SOURCE_PREFIX).exists():
        context.log("Demo leads are already there.")
        return
    with transaction.atomic():
        _sources()
        if context.demo_users:
            _provider_account()
        story = _Storyteller(context)
        for number in range(1, DEMO_LEADS + 1):
            story.tell(number)
        _work_the_plans(context, story.rng)
        browsing = _browsing(context)
        dates = _lifecycle_dates(context)
    response_times_refresh(now=context.now)
    context.log(
        f"Created {DEMO_LEADS} demo leads with their history, {len(SOURCE_SETTINGS)} lead sources, "
        f"{browsing} website events and {dates} coming life-cycle dates."
    )
    # The sweeps run once now, so that the demo opens with quiet leads flagged and the
    # customers who came back already in their salespeople's queues.
    for name in ("stale", "reactivation", "recycle", "archive"):
        done = sweep_run(name, context.now)
        context.log(f"Sweep {name}: {done['changed']} changed of {done['examined']} examined.")


def _sources():
    teams = {team.name: team for team in Team.objects.all()}
    channels = {key: channel for key, channel, _, _ in SOURCES}
    for key, name, points, team, form, cost in SOURCE_SETTINGS:
        LeadSource.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "channel": channels[key],
                "quality_points": points,
                "team": teams.get(team),
                "form_enabled": form,
                "form_title": "Ask us about a car" if form else "",
                "cost_per_lead": cost,
            },
        )


def _provider_account():
    """The integration account the demo's API examples post with (its token is printed)."""
    from rest_framework.authtoken.models import Token

    user = staff_create(username=PROVIDER_USERNAME, role=Role.LEAD_PROVIDER, first_name="Website")
    Token.objects.create(user=user)


def _browsing(context):
    """Website visits for some customers: before their lead, and for a part of the lost ones,
    after it (the customers the sweeps will bring back)."""
    rng, now = context.rng, context.now
    events = []
    leads = Lead.objects.filter(external_id__startswith=DEMO_SOURCE_PREFIX).select_related(
        "customer"
    )
    for lead in leads.order_by("pk"):
        # About one in five lost or long-quiet customers is still shopping (DESIGN.md).
        quiet = lead.is_open and lead.last_activity_at < now - timedelta(days=7)
        still_shopping = (lead.status == LeadStatus.LOST or quiet) and rng.random() < 0.2
        if rng.random() > 0.4 and not still_shopping:
            continue
        visitor_id = f"demo-v{lead.customer_id}"
        visitors_link(customer=lead.customer, visitor_id=visitor_id)
        visits = [
            lead.created_at - timedelta(days=rng.uniform(0, 10)) for _ in range(rng.randint(1, 4))
        ]
        if still_shopping:
            visits += [now - timedelta(days=rng.uniform(0, 6)) for _ in range(rng.randint(1, 3))]
        for start in visits:
            make, model, _ = (
                rng.choice(VEHICLES)
                if rng.random() < 0.3
                else (lead.vehicle_make, lead.vehicle_model, "")
            )
            steps = [(WebEvent.Type.PAGE_VIEW, "", "")]
            steps += [(WebEvent.Type.VEHICLE_VIEW, make, model)] * rng.randint(1, 3)
            if rng.random() < 0.4:
                steps.append((WebEvent.Type.FORM_VIEW, "", ""))
            for minute, (kind, step_make, step_model) in enumerate(steps):
                events.append(
                    WebEventInput(
                        visitor_id=visitor_id,
                        type=kind,
                        occurred_at=min(now, start + timedelta(minutes=minute * 3)),
                        url=f"https://dealer.example/{kind.replace('_', '-')}",
                        make=step_make,
                        model=step_model,
                    )
                )
    web_events_record(events, at=now)
    return len(events)


def _lifecycle_dates(context):
    """Lease ends and loan maturities for some of the customers who bought, a few of them due
    within the recycling sweep's reach (sales also gave each a purchase anniversary)."""
    rng, today = context.rng, timezone.localdate(context.now)
    buyers = Lead.objects.filter(
        external_id__startswith=DEMO_SOURCE_PREFIX, status=LeadStatus.SOLD
    ).values_list("customer_id", flat=True)
    # The first few buyers without an open lead come due now, so that the demo always shows
    # recycled leads whatever the random draw.
    shopping = set(
        Lead.objects.filter(status__in=OPEN_STATUSES).values_list("customer_id", flat=True)
    )
    due_now = [customer_id for customer_id in buyers if customer_id not in shopping][:3]
    dates = [
        LifecycleDate(
            customer_id=customer_id,
            kind=rng.choice([LifecycleDate.Kind.LEASE_END, LifecycleDate.Kind.LOAN_MATURITY]),
            date=today
            + timedelta(
                days=rng.randint(30, 80) if customer_id in due_now else rng.randint(60, 400)
            ),
            note="From the dealer management system",
        )
        for customer_id in buyers
        if customer_id in due_now or rng.random() < 0.5
    ]
    LifecycleDate.objects.bulk_create(dates, ignore_conflicts=True)
    return len(dates)


class _Storyteller:
    """Writes one lead's life after another, each step through the service a person would use."""

    def __init__(self, context):
        self.rng = context.rng
        self.now = context.now
        people = salespeople_by_team()
        self.sellers = {"new": people.get("New cars", []), "used": people.get("Used cars", [])}
        self.bdc = people.get("BDC", [])
        self.auditor = (
            StaffProfile.objects.filter(role__in=[Role.BDC_MANAGER, Role.SALES_MANAGER])
            .select_related("user")
            .order_by("user__username")
            .first()
        )
        self.reasons = {
            (reason.kind, reason.code): reason
            for reason in Reason.objects.filter(scope=Reason.Scope.SALES)
        }
        self.customers = []

    def tell(self, number):
        rng, now = self.rng, self.now
        created = now - timedelta(minutes=rng.uniform(20, HISTORY_DAYS * 24 * 60))
        source, channel, _, base_score = rng.choices(SOURCES, [s[2] for s in SOURCES])[0]
        condition = rng.choice([Lead.Condition.NEW, Lead.Condition.USED])
        make, model, trim = rng.choice(VEHICLES)
        lead = lead_create(
            customer=self._customer(number, created),
            source=source,
            channel=channel,
            external_id=f"{DEMO_SOURCE_PREFIX}{number:04d}",
            by=f"intake:{source}",
            at=created,
            vehicle_year=rng.choice([2024, 2025, 2026])
            if condition == "new"
            else rng.randint(2016, 2023),
            vehicle_make=make,
            vehicle_model=model,
            vehicle_trim=trim,
            vehicle_condition=condition,
            purchase_horizon=_pick(
                rng,
                [
                    (Lead.PurchaseHorizon.WITHIN_WEEK, 20),
                    (Lead.PurchaseHorizon.WITHIN_MONTH, 35),
                    (Lead.PurchaseHorizon.WITHIN_3_MONTHS, 20),
                    (Lead.PurchaseHorizon.WITHIN_6_MONTHS, 7),
                    (Lead.PurchaseHorizon.LATER, 3),
                    (Lead.PurchaseHorizon.UNKNOWN, 15),
                ],
            ),  # fmt: skip
            comments=rng.choice(COMMENTS),
            score=max(0, min(100, base_score + rng.randint(-25, 25))),
            **self._trade_in(),
        )
        if channel in {Lead.Channel.WEB_FORM, Lead.Channel.THIRD_PARTY, Lead.Channel.OEM}:
            self._automated_email(lead, created + timedelta(seconds=rng.uniform(5, 60)))
        owner = self._owner(lead, created)
        if owner is None:
            return
        clock = created + timedelta(seconds=rng.uniform(3, 90))
        lead = lead_assign(lead=lead, owner=owner, by="routing", at=clock)
        self._live(lead, owner, clock, _pick(rng, OUTCOMES))

    def _customer(self, number, at):
        rng = self.rng
        if self.customers and rng.random() < 0.08:  # a repeat inquiry from a known customer
            return rng.choice(self.customers)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        customer = customer_create(
            first_name=first,
            last_name=last,
            email=f"{first}.{last}{number}@example.com",
            phone=f"+1 {AREA_CODES[number % len(AREA_CODES)]} 555 01{number % 100:02d}",
            preferred_contact=_pick(rng, [("any", 5), ("phone", 3), ("email", 3), ("sms", 2)]),
            consent_email=rng.random() < 0.8,
            consent_sms=rng.random() < 0.5,
            consent_phone=rng.random() < 0.9,
            at=at,
        )
        self.customers.append(customer)
        return customer

    def _trade_in(self):
        if self.rng.random() > 0.35:
            return {}
        make, model, _ = self.rng.choice(VEHICLES)
        return {
            "tradein_year": self.rng.randint(2010, 2021),
            "tradein_make": make,
            "tradein_model": model,
            "tradein_mileage": self.rng.randint(20, 160) * 1000,
        }

    def _owner(self, lead, created):
        # Leads of the last few hours may still sit in the pool, waiting to be claimed.
        if self.now - created < timedelta(hours=6) and self.rng.random() < 0.4:
            return None
        if lead.score < 35 and self.bdc:  # weak leads go to BDC qualification first
            return self.rng.choice(self.bdc)
        return self.rng.choice(self.sellers[lead.vehicle_condition or "new"] or self.bdc)

    def _live(self, lead, owner, clock, outcome):
        rng = self.rng
        if outcome == S.NEW:
            return
        if outcome == S.DISQUALIFIED and rng.random() < 0.5:
            self._close(lead, owner, clock + timedelta(minutes=rng.uniform(2, 90)), outcome)
            return
        clock += _first_response_delay(rng)
        if clock >= self.now:
            return
        connected = rng.random() < 0.6
        self._call(lead, owner, clock, "connected" if connected else "voicemail", connected)
        steps = {
            S.CONTACTED: [],
            S.QUALIFIED: [S.QUALIFIED],
            S.APPOINTMENT: [S.QUALIFIED, S.APPOINTMENT],
            S.SOLD: [S.QUALIFIED, S.APPOINTMENT, S.SOLD],
            S.LOST: [S.QUALIFIED] if rng.random() < 0.5 else [],
            S.DISQUALIFIED: [],
        }[outcome]
        for step in steps:
            clock += timedelta(hours=rng.uniform(4, 24 * (6 if step == S.SOLD else 3)))
            if clock >= self.now:
                return
            self._follow_up(lead, owner, clock)
            lead = lead_change_status(lead=lead, to_status=step, by=owner, at=clock)
        if outcome in {S.LOST, S.DISQUALIFIED}:
            self._close(lead, owner, clock + timedelta(days=rng.uniform(1, 21)), outcome)

    def _close(self, lead, owner, at, status):
        if at >= self.now:
            return
        rng = self.rng
        kind, weights = (
            ("lost", LOST_REASONS) if status == S.LOST else ("disqualified", DISQUALIFIED_REASONS)
        )
        lead = lead_change_status(
            lead=lead,
            to_status=status,
            by=owner,
            reason=self.reasons[(kind, _pick(rng, weights))],
            at=at,
        )
        # The monthly audit returns some wrongly disqualified leads to work.
        audit_at = at + timedelta(days=rng.uniform(2, 10))
        if status == S.DISQUALIFIED and self.auditor and audit_at < self.now and rng.random() < 0.2:
            lead_reopen(
                lead=lead,
                cause=LeadEvent.ReopenCause.AUDIT,
                by=self.auditor.user,
                note="Audit: real customer, reachable by e-mail.",
                at=audit_at,
            )

    def _call(self, lead, owner, at, outcome, connected):
        activity_log(
            lead=lead,
            kind=Activity.Kind.CALL,
            by=owner,
            outcome=outcome,
            duration_seconds=int(self.rng.uniform(240, 1100)) if connected else 35,
            customer_responded=connected,
            occurred_at=at,
        )

    def _follow_up(self, lead, owner, before):
        at = before - timedelta(minutes=self.rng.uniform(5, 120))
        kind = self.rng.choice([Activity.Kind.CALL, Activity.Kind.SMS, Activity.Kind.EMAIL])
        if kind == Activity.Kind.CALL:
            self._call(lead, owner, at, "connected", True)
        else:
            activity_log(
                lead=lead,
                kind=kind,
                by=owner,
                outcome="replied",
                customer_responded=True,
                occurred_at=at,
            )

    def _automated_email(self, lead, at):
        activity_log(
            lead=lead,
            kind=Activity.Kind.EMAIL,
            by="autoresponder",
            automated=True,
            outcome=Activity.Outcome.SENT,
            body="Thank you for your inquiry! A member of our team will contact you shortly.",
            occurred_at=min(at, self.now),
        )


def _work_the_plans(context, rng):
    """Salespeople did most of their follow-up tasks on time; about one in five past tasks is
    left overdue, so that the queue and the team board show the overdue share they would.

    Written in bulk, as `add_bulk` writes its history: a thousand completions one service call
    at a time would make the demo seed (and every test that loads it) several times slower.
    What is written is what `followup_task_complete` writes: the touch, the task done with it,
    and the lead's last activity."""
    today = timezone.localdate(context.now)
    done = [
        task
        for task in FollowUpTask.objects.filter(status=FollowUpTask.Status.OPEN, due_on__lt=today)
        .exclude(assignee=None)
        .order_by("due_on", "id")
        if rng.random() >= 0.2
    ]
    activities = []
    for task in done:
        kind = task.channel or Activity.Kind.CALL
        call = kind == Activity.Kind.CALL
        at = timezone.make_aware(
            datetime.combine(task.due_on, time(hour=rng.randint(9, 17), minute=rng.randint(0, 59)))
        )
        activities.append(
            Activity(
                lead_id=task.lead_id,
                kind=kind,
                actor_id=task.assignee_id,
                outcome=rng.choice(["connected", "no_answer", "voicemail"]) if call else "",
                duration_seconds=int(rng.uniform(30, 900)) if call else None,
                occurred_at=min(at, context.now),
            )
        )
    Activity.objects.bulk_create(activities)
    for task, activity in zip(done, activities, strict=True):
        task.status = FollowUpTask.Status.DONE
        task.closed_at = task.closed_at or activity.occurred_at
        task.closed_by_id = task.assignee_id
        task.activity = activity
    FollowUpTask.objects.bulk_update(done, ["status", "closed_at", "closed_by", "activity"])
    latest = {}
    for activity in activities:
        latest[activity.lead_id] = max(
            latest.get(activity.lead_id, activity.occurred_at), activity.occurred_at
        )
    leads = list(Lead.objects.filter(pk__in=latest))
    for lead in leads:
        lead.last_activity_at = max(lead.last_activity_at or latest[lead.pk], latest[lead.pk])
    Lead.objects.bulk_update(leads, ["last_activity_at"])
    leads_touch_counts_refresh(latest)


def _first_response_delay(rng):
    bucket = rng.choices(["5m", "1h", "5h", "day", "days"], [35, 22, 20, 13, 10])[0]
    minutes = {
        "5m": rng.uniform(0.5, 5),
        "1h": rng.uniform(5, 60),
        "5h": rng.uniform(60, 300),
        "day": rng.uniform(300, 1440),
        "days": rng.uniform(1440, 4320),
    }[bucket]
    return timedelta(minutes=minutes)


BULK_BATCH = 5000
# A fixed share of each status for benchmark data, and the steps that reach it.
BULK_PATHS = [
    ([], 10),
    ([S.CONTACTED], 20),
    ([S.CONTACTED, S.QUALIFIED], 12),
    ([S.CONTACTED, S.QUALIFIED, S.APPOINTMENT], 8),
    ([S.CONTACTED, S.QUALIFIED, S.APPOINTMENT, S.SOLD], 15),
    ([S.CONTACTED, S.LOST], 25),
    ([S.DISQUALIFIED], 10),
]


def add_bulk(context):
    """Add `context.bulk_leads` leads with customers and history using bulk inserts.

    Each lead gets a created event, an assignment and one event per status step, so sweeps and
    reports have the same shapes to read as with real data. Batches commit one by one; a run
    that is interrupted keeps the whole batches it wrote.
    """
    rng, now = context.rng, context.now
    people = [user for users in salespeople_by_team().values() for user in users]
    if not people:
        raise RuntimeError("No salespeople to own bulk leads; run seed_demo without --leads first.")
    reasons = {
        status: Reason.objects.filter(kind=status, active=True).order_by("ordering").first()
        for status in (S.LOST, S.DISQUALIFIED)
    }
    run = secrets.token_hex(4)
    paths = [path for path, _ in BULK_PATHS]
    weights = [weight for _, weight in BULK_PATHS]
    done = 0
    while done < context.bulk_leads:
        size = min(BULK_BATCH, context.bulk_leads - done)
        with transaction.atomic():
            _bulk_batch(rng, now, run, done, size, people, paths, weights, reasons)
        done += size
    context.log(f"Added {done} leads in bulk (run {run}).")


def _bulk_batch(rng, now, run, offset, size, people, paths, weights, reasons):
    stamps = [now - timedelta(seconds=rng.uniform(60, HISTORY_DAYS * 86400)) for _ in range(size)]
    customers = Customer.objects.bulk_create(
        Customer(
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            email=f"bulk-{run}-{offset + i}@example.com",
            created_at=stamps[i],
        )
        for i in range(size)
    )
    leads, histories = [], []
    for i, customer in enumerate(customers):
        created = stamps[i]
        owner = rng.choice(people)
        path = rng.choices(paths, weights)[0]
        make, model, trim = rng.choice(VEHICLES)
        source, channel, _, base_score = rng.choice(SOURCES)
        clock = created + timedelta(seconds=rng.uniform(3, 60))
        steps = [("assigned", clock, None)]
        for step in path:
            clock = min(clock + timedelta(hours=rng.uniform(0.05, 72)), now)
            steps.append((step, clock, reasons.get(step)))
        status = path[-1] if path else S.NEW
        closed = steps[-1][1] if status in (S.SOLD, S.LOST, S.DISQUALIFIED) else None
        contacted = next((at for step, at, _ in steps if step == S.CONTACTED), None)
        qualified = next((at for step, at, _ in steps if step in QUALIFIED_STATUSES), None)
        appointment = next((at for step, at, _ in steps if step == S.APPOINTMENT), None)
        response_seconds, band = (
            FirstContactBand.of(created, contacted) if contacted else (None, None)
        )
        leads.append(
            Lead(
                customer=customer,
                source=source,
                channel=channel,
                external_id=f"bulk-{run}-{offset + i}",
                vehicle_make=make,
                vehicle_model=model,
                vehicle_trim=trim,
                vehicle_condition=rng.choice([Lead.Condition.NEW, Lead.Condition.USED]),
                score=max(0, min(100, base_score + rng.randint(-25, 25))),
                status=status,
                close_reason=reasons.get(status),
                owner=owner,
                team_id=owner.staff.team_id,
                created_at=created,
                created_hour=timezone.localtime(created).hour,
                assigned_at=steps[0][1],
                first_contacted_at=contacted,
                first_response_seconds=response_seconds,
                first_contact_band=band,
                qualified_at=qualified,
                appointment_set_at=appointment,
                last_activity_at=max(filter(None, (created, contacted, steps[-1][1]))),
                status_changed_at=steps[-1][1],
                closed_at=closed,
            )
        )
        histories.append(steps)
    leads = Lead.objects.bulk_create(leads)
    adapt = connection.ops.adapt_datetimefield_value
    events = []
    for lead, steps in zip(leads, histories, strict=True):
        events.append(
            (lead.pk, LeadEvent.Kind.CREATED, adapt(lead.created_at), None,
             f"intake:{lead.source}", "", S.NEW, None, None)
        )  # fmt: skip
        previous = S.NEW
        for step, at, reason in steps:
            if step == "assigned":
                events.append(
                    (lead.pk, LeadEvent.Kind.ASSIGNED, adapt(at), None, "routing", "", "",
                     lead.owner_id, None)
                )  # fmt: skip
                continue
            events.append(
                (lead.pk, LeadEvent.Kind.STATUS_CHANGED, adapt(at), lead.owner_id, "",
                 previous, step, None, reason.pk if reason else None)
            )  # fmt: skip
            previous = step
    # History is the largest table here: one executemany skips the per-field preparation that
    # makes bulk_create the slowest part of a bulk seed (the ids are not needed back).
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {LeadEvent._meta.db_table} (lead_id, kind, at, actor_id, actor_label,"
            " from_status, to_status, to_owner_id, reason_id, cause, note)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, '', '')",
            events,
        )
