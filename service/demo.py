"""Demo aftersales: a workshop's last twelve months, made through the service functions with
their times in the past, so that every opportunity, lost sale and follow-up has its history.

What the demo shows (DESIGN.md): today's appointments, open quotes and cars in the workshop on
each advisor's desk; sales lost at every known event (no-show, cancelled appointment, cancelled
order, reduced scope, declined quote) for every reason of the catalog, with their money, more
often in the months that bring them (no workshop capacity in the tyre months, postponements in
the summer holidays, no-shows in winter); lost sales brought back by the recapture sweep on
their day, by parts arriving, by the customer's next check-in and by campaigns, some won back,
some declined again or given up; two corrective actions that made their reason rarer; a running
campaign that fits brake work declined on price; open customer issues; and old cars of sales
customers whose service visit tells their salesperson to talk about the next car.

Each lost sale comes back on its follow-up day as the recapture sweep would have brought it
back then (`service.tasks.loss_follow_up`, as of that morning); the sweep itself runs once at
the end, like the lead demo's sweeps, for what is due today and for the running campaign.

`seed(context)` is idempotent: the demo's opportunities carry external ids "demo-svc-NNNN", and
a second run adds nothing.
"""

import heapq
import itertools
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from random import Random

from django.db import transaction
from django.utils import timezone

from dealercrm.models import Role, StaffProfile
from dealercrm.schedules import sweep_run
from leads.models import OPEN_STATUSES, Lead
from service.models import Recapture, ServiceLoss, ServiceOpportunity, Stage
from service.services import (
    corrective_action_add,
    customer_for_service,
    issue_open,
    issue_resolve,
    loss_log,
    loss_parts_arrived,
    opportunity_advance,
    opportunity_create,
    recapture_book,
    recapture_decline,
    vehicle_for_customer,
)
from service.setup import campaign_save
from service.tasks import campaign_offers, loss_campaign_offer, loss_follow_up

DEMO_EXTERNAL_PREFIX = "demo-svc-"
# The service's own random numbers, so that its story does not depend on how many the lead demo
# drew before it.
SEED = 20261123
HISTORY_DAYS = 365
HISTORY_STORIES = 112
SALES_HANDOFFS = 4
# A second advisor who can log in (the first, "advisor", and the service manager are the core
# demo's logins); created only when demo logins are.

FIRST_NAMES = [
    "Olivia", "Liam", "Amara", "Mateo", "Yuki", "Sara", "Tariq", "Hannah", "Diego", "Leila",
    "Owen", "Priya", "Felix", "Nadia", "Caleb", "Ivy", "Rafael", "Mina", "Jonah", "Elif",
]  # fmt: skip
LAST_NAMES = [
    "Carter", "Nguyen", "Rossi", "Okoye", "Schmidt", "Tanaka", "Reyes", "Novak", "Byrne",
    "Haddad", "Lindqvist", "Morales", "Patel", "Dubois", "Kowalski", "Mensah", "Ortiz", "Ward",
]  # fmt: skip
# Cars of the workshop's regular customers: at most five years old and under 100,000 km, so
# that their visits make no sales lead.
YOUNG_CARS = [
    ("Toyota", "RAV4"), ("Toyota", "Corolla"), ("Honda", "CR-V"), ("Honda", "Civic"),
    ("Ford", "Escape"), ("Hyundai", "Tucson"), ("Kia", "Sportage"), ("Subaru", "Outback"),
    ("Nissan", "Rogue"), ("Chevrolet", "Equinox"),
]  # fmt: skip
OLD_CARS = [("Toyota", "Camry"), ("Honda", "Accord"), ("Ford", "Focus"), ("Nissan", "Altima")]
VIN_CHARACTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class Work:
    title: str
    lines: tuple  # ((description, low, high), ...)


WORK = [
    Work("Annual service", (("Oil and filter change", 120, 180), ("Inspection", 90, 140),
                            ("Cabin air filter", 45, 70))),
    Work("Brake service", (("Front brake pads", 180, 260), ("Rear brake discs", 220, 340))),
    Work("Tyre change", (("Seasonal tyre swap", 60, 90), ("Four winter tyres", 520, 880))),
    Work("Timing belt replacement", (("Timing belt kit", 480, 760), ("Water pump", 160, 240))),
    Work("Air conditioning service", (("A/C recharge", 110, 160), ("Pollen filter", 40, 60))),
    Work("Battery replacement", (("Battery", 150, 240),)),
    Work("Wheel alignment", (("Four-wheel alignment", 90, 140),)),
    Work("Diagnostics: warning light", (("Diagnostics", 90, 140), ("Oxygen sensor", 160, 260))),
    Work("Wipers and lights", (("Wiper blades", 35, 60), ("Headlight bulbs", 30, 55))),
]  # fmt: skip
WORK_BY_TITLE = {work.title: work for work in WORK}
SOURCES = [
    ("booking", 48), ("visit", 14), ("quote", 14), ("web", 9), ("marketing", 5),
    ("campaign", 5), ("external", 5),
]  # fmt: skip
# Where each event happens and why it happens, by weight.
EVENT_REASONS = {
    "no_show": [("no_show", 70), ("no_contact", 20), ("customer_postponed", 10)],
    "appointment_cancelled": [
        ("customer_postponed", 40), ("no_capacity", 20), ("missing_parts", 20),
        ("competitor_offer", 10), ("other", 10),
    ],
    "order_cancelled": [
        ("missing_parts", 40), ("price_too_high", 25), ("competitor_offer", 20), ("other", 15),
    ],
    "scope_reduced": [("price_too_high", 60), ("customer_postponed", 30), ("missing_parts", 10)],
    "quote_declined": [
        ("price_too_high", 45), ("competitor_offer", 25), ("no_contact", 15),
        ("customer_postponed", 15),
    ],
}  # fmt: skip
# What weighs more in some months: the workshop is full when tyres are changed, customers
# postpone in the summer holidays and miss appointments in winter.
SEASON_BOOST = {
    4: {"no_capacity": 3.0}, 10: {"no_capacity": 3.0}, 11: {"no_capacity": 3.0},
    7: {"customer_postponed": 2.0}, 8: {"customer_postponed": 2.0},
    12: {"no_show": 1.5}, 1: {"no_show": 1.5}, 2: {"no_show": 1.5},
}  # fmt: skip
# How many more visits (and losses) a month brings; the tyre months are the busiest.
MONTH_WEIGHT = {4: 1.4, 5: 1.1, 10: 1.4, 11: 1.3, 7: 0.8, 8: 0.8, 12: 0.9}
LOSS_CHANCE = 0.27
LOSS_SOURCE = {"quote_declined": "quote", "no_show": "booking", "appointment_cancelled": "booking"}
# (event, reason) each appearing at least once, on the first stories that lose a sale.
EVERY_EVENT_AND_REASON = [
    ("no_show", "no_show"),
    ("no_show", "no_contact"),
    ("appointment_cancelled", "customer_postponed"),
    ("appointment_cancelled", "no_capacity"),
    ("appointment_cancelled", "other"),
    ("order_cancelled", "missing_parts"),
    ("order_cancelled", "competitor_offer"),
    ("scope_reduced", "price_too_high"),
    ("scope_reduced", "customer_postponed"),
    ("quote_declined", "price_too_high"),
    ("quote_declined", "competitor_offer"),
    ("quote_declined", "no_contact"),
]
NOTES = {
    "other": "Customer is moving away and will service the car there.",
    "no_contact": "Three calls and a text, no answer.",
    "competitor_offer": "Quick-fit chain quoted less.",
}
# (reason, days ago it started, action, note): each makes its reason rarer from its start.
CORRECTIVE_ACTIONS = [
    (
        "missing_parts",
        150,
        "Stock brake pads, filters and wiper blades for the ten most serviced models",
        "Parts manager reorders weekly from the top-ten list.",
    ),
    (
        "no_show",
        90,
        "Text reminder the day before every appointment",
        "Sent by the booking system at 5 pm.",
    ),
]


def _pick(rng, weighted):
    return rng.choices([item[0] for item in weighted], [item[1] for item in weighted])[0]


def seed(context):
    advisors, manager = _service_staff(context)
    if ServiceOpportunity.objects.filter(external_id__startswith=DEMO_EXTERNAL_PREFIX).exists():
        context.log("Demo service opportunities are already there.")
        return
    if not advisors:
        context.log("No service advisor to give the demo's service work to; none loaded.")
        return
    with transaction.atomic():
        workshop = _Workshop(context.now, advisors, manager or advisors[0])
        workshop.tell()
    context.log(
        f"Created {workshop.opened} demo service opportunities over {HISTORY_DAYS} days with "
        f"{workshop.losses} lost sales, {workshop.won_back} won back, "
        f"{len(workshop.campaigns)} campaigns and {len(CORRECTIVE_ACTIONS)} corrective actions."
    )
    # As the lead demo does: the sweep runs once now, bringing back what is due today and
    # offering the running campaign to work declined on price.
    done = sweep_run("service-recapture", context.now)
    context.log(
        f"Sweep service-recapture: {done['changed']} changed of {done['examined']} examined."
    )


def _service_staff(context):
    """The active service advisors (in username order) and the first service manager."""
    profiles = StaffProfile.objects.filter(active=True, user__is_active=True).select_related("user")
    advisors = [
        profile.user
        for profile in profiles.filter(role=Role.SERVICE_ADVISOR).order_by("user__username")
    ]
    manager = profiles.filter(role=Role.SERVICE_MANAGER).order_by("user__username").first()
    return advisors, manager.user if manager else None


class _Timeline:
    """Actions in time order, so that each service call sees the state the calls before it
    left (a check-in finds the losses logged before it). An action due after now never runs:
    a story scheduled past today simply stops where today is."""

    def __init__(self, now):
        self.now = now
        self.queue = []
        self.order = itertools.count()

    def at(self, when, action):
        if when <= self.now:
            heapq.heappush(self.queue, (when, next(self.order), action))

    def run(self):
        while self.queue:
            when, _, action = heapq.heappop(self.queue)
            action(when)


class _Workshop:
    """Writes the workshop's year, one opportunity's life after another, each step through the
    service function a person (or the sweep) would have used at that moment."""

    def __init__(self, now, advisors, manager):
        self.rng = Random(SEED)
        self.now = now
        self.today = timezone.localdate(now)
        self.advisors = advisors
        self.manager = manager
        self.timeline = _Timeline(now)
        self.numbers = itertools.count(1)
        self.customers = []  # (customer, vehicle) of the workshop's regulars
        self.campaigns = []
        self.opened = self.losses = self.won_back = 0
        self.action_days = {
            reason: self.today - timedelta(days=days_ago)
            for reason, days_ago, _, _ in CORRECTIVE_ACTIONS
        }
        # Sales the running campaign can win back: kept pending until the sweep offers it.
        self.for_the_campaign = set()

    # --- the plan ------------------------------------------------------------------------

    def tell(self):
        self._corrective_actions()
        self._before_the_actions()
        self._campaigns()
        coverage = list(EVERY_EVENT_AND_REASON)
        for _ in range(HISTORY_STORIES):
            self._history_story(coverage)
        self._declined_on_price_for_the_campaign()
        self._sales_handoffs()
        self._todays_desk()
        self._issues()
        self.timeline.run()
        self.opened = ServiceOpportunity.objects.count()
        self.losses = ServiceLoss.objects.count()
        self.won_back = ServiceLoss.objects.filter(recovery=ServiceLoss.Recovery.RECOVERED).count()

    def _local(self, day, hour, minute=0):
        return timezone.make_aware(datetime.combine(day, time(hour, minute)))

    def _day_in_history(self, min_days=3):
        """A day of the last year, busier months more likely, at least `min_days` ago."""
        days = list(range(min_days, HISTORY_DAYS))
        weights = [MONTH_WEIGHT.get((self.today - timedelta(days=d)).month, 1.0) for d in days]
        return self.today - timedelta(days=self.rng.choices(days, weights)[0])

    def _customer(self, at, *, returning_chance=0.25):
        """A regular customer coming back (sometimes), or a new one with a car."""
        rng = self.rng
        if self.customers and rng.random() < returning_chance:
            return rng.choice(self.customers)
        number = len(self.customers) + 1
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        customer = customer_for_service(
            first_name=first,
            last_name=last,
            email=f"{first}.{last}.svc{number}@example.com",
            # Area codes the lead demo does not use, so that no service customer is matched
            # to a sales customer by phone.
            phone=f"+1 {('808', '907', '505')[number // 100]} 555 01{number % 100:02d}",
            at=at,
        )
        make, model = rng.choice(YOUNG_CARS)
        age = rng.randint(1, 5)
        vehicle = vehicle_for_customer(
            customer=customer,
            vin=self._vin(),
            year=self.today.year - age,
            make=make,
            model=model,
            mileage=age * rng.randint(9_000, 15_000),
        )
        self.customers.append((customer, vehicle))
        return customer, vehicle

    def _vin(self):
        return "".join(self.rng.choice(VIN_CHARACTERS) for _ in range(17))

    def _work(self, multi_line=False):
        choices = [work for work in WORK if len(work.lines) > 1] if multi_line else WORK
        work = self.rng.choice(choices)
        lines = [
            {
                "description": description,
                "amount": f"{5 * self.rng.randint(low // 5, high // 5)}.00",
            }
            for description, low, high in work.lines
        ]
        return work.title, lines

    @staticmethod
    def _value(lines):
        return sum(Decimal(line["amount"]) for line in lines)

    def _advisor(self):
        return self.rng.choice(self.advisors)

    def _reason(self, event, day):
        boost = SEASON_BOOST.get(day.month, {})
        weights = []
        for code, weight in EVENT_REASONS[event]:
            weight *= boost.get(code, 1.0)
            # A corrective action made its reason rarer from its start.
            if code in self.action_days and day >= self.action_days[code]:
                weight *= 0.3
            weights.append((code, weight))
        return _pick(self.rng, weights)

    def _loss_for(self, source, day):
        """(event, reason) of the sale this story loses, or None."""
        chance = LOSS_CHANCE * MONTH_WEIGHT.get(day.month, 1.0) ** 0.5
        if self.rng.random() >= chance:
            return None
        if source == "quote":
            events = [("quote_declined", 75), ("scope_reduced", 25)]
        elif source == "visit":
            events = [("scope_reduced", 60), ("order_cancelled", 40)]
        else:
            no_show = 28 * (0.4 if day >= self.action_days["no_show"] else 1.0)
            events = [
                ("no_show", no_show),
                ("appointment_cancelled", 30),
                ("scope_reduced", 25),
                ("order_cancelled", 7),
                ("quote_declined", 10),
            ]
        event = _pick(self.rng, events)
        return event, self._reason(event, day)

    # --- stories -------------------------------------------------------------------------

    def _history_story(self, coverage):
        rng = self.rng
        loss = None
        if coverage and rng.random() < 0.5:
            loss = coverage.pop(0)
        # A sale that must be lost is lost weeks ago, well before today.
        day = self._day_in_history(min_days=30 if loss else 3)
        created = self._local(day, rng.randint(8, 17), rng.choice([0, 15, 30, 45]))
        # A quote is declined; an appointment is missed or cancelled.
        source = LOSS_SOURCE.get(loss[0]) if loss else None
        source = source or _pick(rng, SOURCES)
        if loss and loss[0] == "scope_reduced" and source == "quote":
            source = "booking"
        loss = loss or self._loss_for(source, day)
        customer, vehicle = self._customer(created)
        self._story(
            customer=customer,
            vehicle=vehicle,
            source=source,
            created=created,
            advisor=self._advisor(),
            loss=loss,
        )

    def _story(
        self,
        *,
        customer,
        vehicle,
        source,
        created,
        advisor,
        loss=None,
        work=None,
        keep=False,
        booked_for=None,
        lost_at=None,
        whole=None,
    ):
        """One opportunity from its opening to its end (or to today): booked and checked in
        on its day, or walked in, or quoted and accepted; lost where its loss happens; worked
        and delivered. With `keep`, its lost sale stays to win back for a campaign. The
        appointment, and the moment of a missed appointment or declined quote and whether all
        of it was lost, may be given."""
        rng = self.rng
        multi = loss is not None and loss[0] == "scope_reduced"
        title, lines = work or self._work(multi_line=multi)
        number = next(self.numbers)
        if source == "visit":
            stage, booked_for = Stage.CHECKED_IN, None
        elif source == "quote":
            stage, booked_for = Stage.PLANNED, None
        else:
            stage = Stage.PLANNED if source in ("web", "marketing") else Stage.BOOKED
            booked_for = booked_for or self._local(
                timezone.localdate(created) + timedelta(days=rng.randint(1, 12)),
                rng.choice([8, 9, 10, 11, 13, 14, 15]),
                rng.choice([0, 30]),
            )
        state = {}
        by = advisor if source in ("booking", "visit", "quote") else f"intake:{source}"

        def open_it(when):
            state["opportunity"] = opportunity_create(
                customer=customer,
                vehicle=vehicle,
                source=source,
                title=title,
                items=lines,
                estimated_value=self._value(lines),
                stage=stage,
                advisor=advisor,
                booked_for=booked_for,
                external_id=f"{DEMO_EXTERNAL_PREFIX}{number:04d}",
                mileage=self._mileage(vehicle) if stage == Stage.CHECKED_IN else None,
                by=by,
                at=when,
            )

        self.timeline.at(created, open_it)
        # Web and marketing leads are booked by the advisor within the day.
        if stage == Stage.PLANNED and booked_for is not None:
            self.timeline.at(
                created + timedelta(hours=rng.uniform(1, 6)),
                lambda when: self._advance(state, Stage.BOOKED, advisor, when),
            )
        if source == "quote":
            # The customer answers the quote within days: yes (booked), or the loss.
            check_in = created + timedelta(days=rng.uniform(2, 9))
        elif source == "visit":
            check_in = created
        else:
            check_in = booked_for
        event = loss[0] if loss else None
        if event in ("no_show", "appointment_cancelled", "quote_declined"):
            if lost_at is None and event == "no_show":
                lost_at = booked_for + timedelta(minutes=30)
            elif lost_at is None and event == "appointment_cancelled":
                lost_at = created + (booked_for - created) * rng.uniform(0.2, 0.9)
            elif lost_at is None:
                lost_at = created + (check_in - created) * rng.uniform(0.3, 0.9)
            if whole is None:
                whole = event != "quote_declined" or len(lines) == 1 or rng.random() < 0.6
            self.timeline.at(
                lost_at, lambda when: self._lose(state, loss, advisor, when, whole, keep=keep)
            )
            if whole:
                return
        in_the_workshop = loss if event in ("order_cancelled", "scope_reduced") else None
        self._work_it(state, advisor, check_in, source, in_the_workshop)

    def _work_it(self, state, advisor, check_in, source, loss):
        """Check-in (unless it walked in), the work, perhaps a loss in the workshop, the
        quality check and the delivery."""
        rng = self.rng
        if source != "visit":
            self.timeline.at(check_in, lambda when: self._check_in(state, advisor, when))
        in_work = check_in + timedelta(minutes=rng.randint(20, 90))
        # Small jobs go from the check-in straight to delivery.
        if loss is not None or rng.random() < 0.6:
            self.timeline.at(
                in_work, lambda when: self._advance(state, Stage.IN_WORK, advisor, when)
            )
        if loss is not None:
            lost_at = in_work + timedelta(minutes=rng.randint(30, 180))
            whole = loss[0] == "order_cancelled"
            self.timeline.at(lost_at, lambda when: self._lose(state, loss, advisor, when, whole))
            if whole:
                return
        done = in_work + timedelta(hours=rng.uniform(4, 28))
        if rng.random() < 0.4:
            self.timeline.at(
                done - timedelta(hours=1),
                lambda when: self._advance(state, Stage.QUALITY_CHECK, advisor, when),
            )
        # The service moves no opportunity on once it is delivered (won), so the customer's
        # follow-up is recorded at the hand-over when there is one.
        stage = Stage.FOLLOWED_UP if rng.random() < 0.3 else Stage.DELIVERED
        self.timeline.at(done, lambda when: self._deliver(state, advisor, when, stage))

    def _mileage(self, vehicle):
        vehicle.refresh_from_db(fields=["mileage"])
        return (vehicle.mileage or 0) + self.rng.randint(200, 900)

    def _advance(self, state, stage, advisor, when, **fields):
        """Move the story's opportunity on, unless it is closed or already further. Only this
        demo's own calls change it, so `state` knows its stage and status without a query."""
        opportunity = state.get("opportunity")
        if opportunity is None or not opportunity.is_open:
            return
        if Stage.values.index(stage) <= Stage.values.index(opportunity.stage):
            return
        state["opportunity"] = opportunity_advance(
            opportunity=opportunity, to_stage=stage, by=advisor, at=when, **fields
        )

    def _check_in(self, state, advisor, when):
        opportunity = state.get("opportunity")
        if opportunity is None:
            return
        vehicle = opportunity.vehicle
        self._advance(
            state,
            Stage.CHECKED_IN,
            advisor,
            when,
            mileage=self._mileage(vehicle) if vehicle else None,
        )
        # The customer's declined work, shown again at the check-in: about half of it is
        # taken this time.
        for recapture in Recapture.objects.filter(
            visit=state["opportunity"], status=Recapture.Status.OPEN
        ).order_by("pk"):
            if recapture.loss_id in self.for_the_campaign:
                continue
            if self.rng.random() >= 0.5:
                # Said no again at the counter; the last days' answers are still to be had.
                if when < self.now - timedelta(days=10):
                    recapture_decline(
                        recapture=recapture,
                        by=advisor,
                        note="Not this time.",
                        at=when + timedelta(minutes=20),
                    )
                continue
            booking = recapture_book(
                recapture=recapture,
                by=advisor,
                booked_for=when + timedelta(hours=2),
                at=when + timedelta(minutes=20),
            )
            self._booked_back(booking, advisor)

    def _deliver(self, state, advisor, when, stage=Stage.DELIVERED):
        opportunity = state.get("opportunity")
        if opportunity is None:
            return
        # The invoice is the estimate give or take a small extra found on the lift.
        extra = Decimal(self.rng.choice([0, 0, 0, 15, 25, 40]))
        self._advance(state, stage, advisor, when, actual_value=opportunity.estimated_value + extra)

    def _lose(self, state, loss, advisor, when, whole, keep=False):
        opportunity = state.get("opportunity")
        if opportunity is None or not opportunity.is_open:
            return
        event, reason = loss
        amount, declined = None, opportunity.items
        if not whole:
            # The customer keeps the first line and says no to the rest, or to one of them.
            declined = opportunity.items[1:] or opportunity.items
            declined = [self.rng.choice(declined)]
            amount = Decimal(declined[0]["amount"])
            if amount >= opportunity.estimated_value:
                return
        logged = loss_log(
            opportunity=opportunity,
            event=event,
            reason=reason,
            amount=amount,
            note=NOTES.get(reason, "") if reason == "other" or self.rng.random() < 0.3 else "",
            declined_items=declined,
            by=advisor,
            at=when,
        )
        # What loss_log wrote on the opportunity, kept in step without reading it back.
        if logged.whole:
            opportunity.status = ServiceOpportunity.Status.LOST
        else:
            opportunity.estimated_value -= logged.amount
        if keep:
            self.for_the_campaign.add(logged.pk)
        self._bring_back(logged, advisor)

    def _bring_back(self, loss, advisor):
        """What happened to a lost sale afterwards: parts arriving for work that waited for
        them, and the sweep's follow-up on its day, which the advisor books, declines or leaves
        for later."""
        rng = self.rng
        if loss.reason.code == "missing_parts":
            arrived = loss.at + timedelta(days=rng.uniform(3, 8))

            def parts_in(when):
                recapture = loss_parts_arrived(loss=loss, by=advisor, at=when)
                if recapture is not None and rng.random() < 0.7:
                    self.timeline.at(
                        when + timedelta(hours=rng.uniform(2, 24)),
                        lambda later: self._answer(recapture, advisor, later, "book"),
                    )

            self.timeline.at(arrived, parts_in)
        if loss.follow_up_on is None or loss.follow_up_on >= self.today - timedelta(days=1):
            return  # the sweep at the end of the seed brings it back
        sweep_at = self._local(loss.follow_up_on, 7)

        def followed_up(when):
            kind = loss_follow_up(loss.pk, now=when)
            if kind is None:
                return
            recapture = Recapture.objects.get(loss=loss, kind=kind)
            if loss.pk in self.for_the_campaign:
                answer = "decline"
            elif loss.follow_up_on >= self.today - timedelta(days=10):
                answer = _pick(rng, [("book", 30), ("decline", 20), ("later", 50)])
            else:
                answer = _pick(rng, [("book", 35), ("decline", 35), ("give_up", 30)])
            self.timeline.at(
                when + timedelta(hours=rng.uniform(2, 30)),
                lambda later: self._answer(recapture, advisor, later, answer),
            )

        self.timeline.at(sweep_at, followed_up)

    def _answer(self, recapture, advisor, when, answer):
        """The customer's answer to a follow-up: "book", "decline", "give_up" or "later"
        (nothing yet), unless the lost sale was settled meanwhile."""
        recapture.refresh_from_db()
        if recapture.status != Recapture.Status.OPEN:
            return
        loss = ServiceLoss.objects.only("recovery").get(pk=recapture.loss_id)
        if loss.recovery != ServiceLoss.Recovery.PENDING:
            return
        if answer == "book":
            booked_for = self._local(
                timezone.localdate(when) + timedelta(days=self.rng.randint(2, 9)),
                self.rng.choice([8, 9, 10, 14, 15]),
            )
            booking = recapture_book(
                recapture=recapture, by=advisor, booked_for=booked_for, at=when
            )
            self._booked_back(booking, advisor)
        elif answer in ("decline", "give_up"):
            recapture_decline(
                recapture=recapture,
                by=advisor,
                give_up=answer == "give_up",
                note="Still too expensive for now." if answer == "decline" else "Sold the car.",
                at=when,
            )

    def _booked_back(self, booking, advisor):
        """A booking that wins a lost sale back goes through the workshop like any other."""
        state = {"opportunity": booking}
        self._work_it(state, advisor, booking.booked_for, "booking", None)

    def _declined_on_price_for_the_campaign(self):
        """Brake work declined on price or for a competitor's offer in the last months, still
        to win back: what the running brake campaign is for."""
        rng = self.rng
        for days_ago, reason in ((140, "price_too_high"), (95, "competitor_offer"),
                                 (60, "price_too_high"), (35, "price_too_high")):  # fmt: skip
            created = self._local(self.today - timedelta(days=days_ago), 10, 30)
            customer, vehicle = self._customer(created, returning_chance=0)
            self._story(
                customer=customer,
                vehicle=vehicle,
                source="quote",
                created=created,
                advisor=self._advisor(),
                loss=("quote_declined", reason),
                work=self._work_for("Brake service"),
                keep=True,
                whole=True,
                lost_at=created + timedelta(days=rng.uniform(1, 4)),
            )

    def _work_for(self, title):
        work = WORK_BY_TITLE[title]
        lines = [
            {
                "description": description,
                "amount": f"{5 * self.rng.randint(low // 5, high // 5)}.00",
            }
            for description, low, high in work.lines
        ]
        return work.title, lines

    def _sales_handoffs(self):
        """Sales customers with an open lead bring an old or high-mileage car in: the visit
        tells their salesperson to talk about the next car (on the open lead: the demo makes
        no sales lead of its own)."""
        rng = self.rng
        leads = (
            Lead.objects.filter(
                external_id__startswith="demo-",
                status__in=OPEN_STATUSES,
                owner__isnull=False,
                created_at__lt=self.now - timedelta(days=10),
            )
            .select_related("customer")
            .order_by("pk")
        )
        taken = set()
        for lead in leads:
            if len(taken) == SALES_HANDOFFS:
                break
            if lead.customer_id in taken:
                continue
            taken.add(lead.customer_id)
            make, model = OLD_CARS[len(taken) % len(OLD_CARS)]
            age = rng.randint(9, 13)
            vehicle = vehicle_for_customer(
                customer=lead.customer,
                vin=self._vin(),
                year=self.today.year - age,
                make=lead.tradein_make or make,
                model=lead.tradein_model or model,
                mileage=age * rng.randint(13_000, 17_000),
            )
            visit_day = self.today - timedelta(days=rng.randint(2, 9))
            created = max(
                self._local(visit_day, rng.randint(8, 11)), lead.created_at + timedelta(hours=4)
            )
            self._story(
                customer=lead.customer,
                vehicle=vehicle,
                source="visit",
                created=created,
                advisor=self._advisor(),
                work=self._work_for(rng.choice(["Annual service", "Brake service"])),
            )

    def _todays_desk(self):
        """What each advisor finds today: appointments, open quotes, cars in the workshop (one
        of them waiting for parts), and bookings for the coming days."""
        rng = self.rng
        for index, advisor in enumerate(self.advisors):
            for hour, minute in [(8, 30), (10, 0), (11, 30), (14, 0), (15, 30)][index % 2 :: 2]:
                self._open_only(
                    advisor,
                    "booking" if rng.random() < 0.7 else "web",
                    booked_for=self._local(self.today, hour, minute),
                    created=self.now - timedelta(days=rng.uniform(1, 10)),
                )
            self._open_only(advisor, "quote", created=self.now - timedelta(days=rng.uniform(1, 12)))
            self._open_only(
                advisor,
                "booking",
                booked_for=self._local(self.today + timedelta(days=rng.randint(1, 6)), 9),
                created=self.now - timedelta(days=rng.uniform(0.5, 5)),
            )
            stages = (Stage.IN_WORK, Stage.QUALITY_CHECK)
            for stage in (Stage.CHECKED_IN, *stages) if index == 0 else stages:
                self._in_the_workshop(advisor, stage)
        first = self.advisors[0]
        self._open_only(first, "quote", created=self.now - timedelta(days=2))
        # Due today, brought back by the sweep at the end: a no-show to rebook and a quote
        # declined a month ago to offer again.
        self._story(
            customer=self._customer(self.now, returning_chance=0)[0],
            vehicle=self.customers[-1][1],
            source="booking",
            created=self._local(self.today - timedelta(days=9), 12),
            booked_for=self._local(self.today - timedelta(days=2), 9),
            advisor=first,
            loss=("no_show", "no_contact"),
        )
        self._story(
            customer=self._customer(self.now, returning_chance=0)[0],
            vehicle=self.customers[-1][1],
            source="quote",
            created=self._local(self.today - timedelta(days=33), 15),
            lost_at=self._local(self.today - timedelta(days=30), 11),
            whole=True,
            advisor=first,
            loss=("quote_declined", "customer_postponed"),
            work=self._work_for("Timing belt replacement"),
        )

    def _open_only(self, advisor, source, *, created, booked_for=None):
        """An opportunity that stays open where it is: booked, or a quote waiting for an
        answer."""
        customer, vehicle = self._customer(created, returning_chance=0.1)
        title, lines = self._work()
        number = next(self.numbers)
        stage = Stage.PLANNED if source == "quote" else Stage.BOOKED

        def open_it(when):
            opportunity_create(
                customer=customer,
                vehicle=vehicle,
                source=source,
                title=title,
                items=lines,
                estimated_value=self._value(lines),
                stage=stage,
                advisor=advisor,
                booked_for=booked_for,
                external_id=f"{DEMO_EXTERNAL_PREFIX}{number:04d}",
                by=advisor if source != "web" else "intake:web",
                at=when,
            )

        self.timeline.at(created, open_it)

    def _in_the_workshop(self, advisor, stage):
        """A car checked in over the last two days and still being worked on; a reduced
        scope now and then (the customer kept the essentials)."""
        rng = self.rng
        check_in = self._local(self.today - timedelta(days=rng.randint(1, 2)), 8, 30)
        customer, vehicle = self._customer(check_in, returning_chance=0.3)
        title, lines = self._work(multi_line=True)
        number = next(self.numbers)
        state = {}

        def open_it(when):
            state["opportunity"] = opportunity_create(
                customer=customer,
                vehicle=vehicle,
                source="booking",
                title=title,
                items=lines,
                estimated_value=self._value(lines),
                stage=Stage.BOOKED,
                advisor=advisor,
                booked_for=check_in,
                external_id=f"{DEMO_EXTERNAL_PREFIX}{number:04d}",
                by=advisor,
                at=when,
            )

        self.timeline.at(check_in - timedelta(days=rng.randint(2, 8)), open_it)
        self.timeline.at(check_in, lambda when: self._check_in(state, advisor, when))
        if stage == Stage.CHECKED_IN:
            return
        self.timeline.at(
            check_in + timedelta(hours=1),
            lambda when: self._advance(state, Stage.IN_WORK, advisor, when),
        )
        if rng.random() < 0.5:
            reason = "missing_parts" if stage == Stage.IN_WORK else "price_too_high"
            self.timeline.at(
                check_in + timedelta(hours=3),
                lambda when: self._lose(state, ("scope_reduced", reason), advisor, when, False),
            )
        if stage == Stage.QUALITY_CHECK:
            self.timeline.at(
                check_in + timedelta(hours=6),
                lambda when: self._advance(state, stage, advisor, when),
            )

    # --- the manager's side --------------------------------------------------------------

    def _corrective_actions(self):
        for reason, days_ago, action, note in CORRECTIVE_ACTIONS:
            corrective_action_add(
                reason=reason,
                action=action,
                started_on=self.today - timedelta(days=days_ago),
                note=note,
                by=self.manager,
            )

    def _before_the_actions(self):
        """The losses that made the managers act: each action's reason several times in the
        weeks before it started (after it, the reason is rarer: see `_reason`)."""
        for reason, days_ago, _, _ in CORRECTIVE_ACTIONS:
            started = self.today - timedelta(days=days_ago)
            for weeks_before in (2, 5, 8, 11):
                appointment = self._local(started - timedelta(weeks=weeks_before), 9)
                created = appointment - timedelta(days=6)
                customer, vehicle = self._customer(created)
                if reason == "no_show":
                    loss, lost_at = ("no_show", "no_show"), None
                else:
                    # The parts were not in: the appointment was called off two days before.
                    loss = ("appointment_cancelled", reason)
                    lost_at = appointment - timedelta(days=2)
                self._story(
                    customer=customer,
                    vehicle=vehicle,
                    source="booking",
                    created=created,
                    booked_for=appointment,
                    lost_at=lost_at,
                    advisor=self._advisor(),
                    loss=loss,
                )

    def _campaigns(self):
        """A spring tyre campaign that ran (its offers made on its first morning, as the sweep
        did then) and a brake campaign running now, which the sweep at the end offers."""
        spring = self.today - timedelta(days=215)
        past, _ = campaign_save(
            by=self.manager,
            name="Spring tyre swap",
            offer="Free storage of your winter tyres with a tyre change",
            keywords="tyre",
            starts_on=spring,
            ends_on=spring + timedelta(days=27),
        )
        running, _ = campaign_save(
            by=self.manager,
            name="Brake check fortnight",
            offer="15% off brake pads and discs",
            keywords="brake",
            starts_on=self.today - timedelta(days=6),
            ends_on=self.today + timedelta(days=8),
        )
        self.campaigns = [past, running]

        def offers(when):
            for pk in campaign_offers(past, when):
                loss_campaign_offer(pk, past, now=when)
            # Two customers took the offer; the others said no again.
            offered = Recapture.objects.filter(campaign=past).order_by("pk")
            for number, recapture in enumerate(offered):
                answer = "book" if number < 2 else "decline"
                self.timeline.at(
                    when + timedelta(days=1, hours=number),
                    lambda later, r=recapture, a=answer: self._answer(
                        r, r.assignee or self.advisors[0], later, a
                    ),
                )

        self.timeline.at(self._local(spring, 7), offers)
        # Tyres declined on price in the months before the spring campaign.
        for days_before in (40, 75, 120):
            created = self._local(spring - timedelta(days=days_before), 11)
            customer, vehicle = self._customer(created, returning_chance=0)
            self._story(
                customer=customer,
                vehicle=vehicle,
                source="quote",
                created=created,
                advisor=self._advisor(),
                loss=("quote_declined", "price_too_high"),
                work=self._work_for("Tyre change"),
                keep=True,
            )

    def _issues(self):
        """Customers' problems: some open (they show on the customer and weigh on their
        retention), two resolved."""
        rng = self.rng
        problems = [
            ("vehicle", "Rattle from the dashboard since the last service", 6, None),
            ("vehicle", "Warning light came back two days after the visit", 3, None),
            ("service", "Waited two hours past the promised pick-up time", 9, None),
            ("service", "Invoice higher than the quote", 12, None),
            ("service", "Wheel cover missing after the tyre change", 80, "Replaced at no charge."),
            ("service", "Car returned dirty", 150, "Free wash and an apology call."),
        ]
        for kind, summary, days_ago, resolution in problems:
            opened = self._local(self.today - timedelta(days=days_ago), 16)

            def open_issue(when, kind=kind, summary=summary, resolution=resolution):
                visited = (
                    ServiceOpportunity.objects.filter(
                        status=ServiceOpportunity.Status.WON, delivered_at__lt=when
                    )
                    .select_related("customer", "vehicle", "advisor")
                    .order_by("-delivered_at", "pk")
                )[rng.randint(0, 5)]
                advisor = visited.advisor or self.advisors[0]
                issue = issue_open(
                    customer=visited.customer,
                    vehicle=visited.vehicle,
                    opportunity=visited,
                    kind=kind,
                    summary=summary,
                    by=advisor,
                    at=when,
                )
                if resolution:
                    self.timeline.at(
                        when + timedelta(days=4),
                        lambda later: issue_resolve(
                            issue=issue, by=self.manager, resolution=resolution, at=later
                        ),
                    )

            self.timeline.at(opened, open_issue)
