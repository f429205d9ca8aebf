"""The follow-up plan: the tasks a contacted lead gets from the plan's steps, and the steps
themselves, which managers edit.

The task helpers here run inside a lead service (`leads.services`) that already holds the lead's
row lock; they are not called on their own. Completing a task is a lead service too
(`followup_task_complete`), because it logs an activity on the lead. The morning reminder
(`followup_reminders_send`) is the plan's scheduled part.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Count, Min, Q
from django.urls import reverse
from django.utils import timezone

from dealercrm.models import StaffProfile
from dealercrm.services import notification_build, notifications_send_many
from leads.errors import InvalidActivity
from leads.models import Activity, FollowUpStep, FollowUpTask

Status = FollowUpTask.Status


def followup_plan_start(lead, at):
    """Give a just-contacted lead its plan: one task per step, due `day` days after `at` (in
    the dealership's time zone), for the lead's owner. A lead that still has an open plan keeps
    it, so contacting it again does not pile up a second one. Returns the tasks made."""
    if FollowUpTask.objects.filter(
        lead=lead, kind=FollowUpTask.Kind.FOLLOW_UP, status=Status.OPEN
    ).exists():
        return []
    start = timezone.localdate(at)
    return FollowUpTask.objects.bulk_create(
        FollowUpTask(
            lead=lead,
            assignee_id=lead.owner_id,
            kind=FollowUpTask.Kind.FOLLOW_UP,
            channel=step.channel,
            title=step.instruction or f"{step.get_channel_display()} the customer",
            plan_day=step.day,
            due_on=start + timedelta(days=step.day),
            created_at=at,
        )
        for step in FollowUpStep.objects.all()
    )


def followup_tasks_cancel(lead, at, note, kinds=None):
    """Cancel the lead's open tasks (of `kinds`, or all): it closed, or the appointment moved."""
    tasks = FollowUpTask.objects.filter(lead=lead, status=Status.OPEN)
    if kinds is not None:
        tasks = tasks.filter(kind__in=kinds)
    return tasks.update(status=Status.CANCELLED, closed_at=at, closed_note=note[:200])


def followup_tasks_follow_owner(lead):
    """The lead changed hands: its open tasks go with it (to nobody while it is in a pool)."""
    return FollowUpTask.objects.filter(lead=lead, status=Status.OPEN).update(
        assignee_id=lead.owner_id
    )


def followup_task_add(lead, *, kind, title, due_on, at, channel=""):
    return FollowUpTask.objects.create(
        lead=lead,
        assignee_id=lead.owner_id,
        kind=kind,
        channel=channel,
        title=title[:200],
        due_on=due_on,
        created_at=at,
    )


@transaction.atomic
def followup_steps_set(steps):
    """Replace the plan's steps with `steps`, a list of (day, channel, instruction). Plans
    already made keep their tasks; the next contacted lead gets the new steps.
    Raises InvalidActivity naming the first bad step, and writes nothing then."""
    seen = set()
    for day, channel, _ in steps:
        if not 1 <= day <= FollowUpStep.LAST_DAY:
            raise InvalidActivity(f"Day {day} is outside the plan (1 to {FollowUpStep.LAST_DAY}).")
        if day in seen:
            raise InvalidActivity(f"Day {day} appears twice; one step per day.")
        if channel not in Activity.Kind.values or channel == Activity.Kind.NOTE:
            raise InvalidActivity(f"Day {day}: '{channel}' is not a way to reach a customer.")
        seen.add(day)
    FollowUpStep.objects.all().delete()
    return FollowUpStep.objects.bulk_create(
        FollowUpStep(day=day, channel=channel, instruction=instruction.strip()[:200])
        for day, channel, instruction in sorted(steps)
    )


def followup_reminders_send(*, now, hour):
    """Once a day, from `hour` local time on: tell each person who has open tasks due today or
    overdue what the day holds. Each person's day is claimed first with a conditional update of
    `StaffProfile.tasks_reminded_on`, so a second sweep (or the next hourly run) reminds nobody
    twice. Returns (people examined, people reminded)."""
    local = timezone.localtime(now)
    if local.hour < hour:
        return 0, 0
    today = local.date()
    not_yet = StaffProfile.objects.filter(active=True, user__is_active=True).filter(
        Q(tasks_reminded_on__isnull=True) | Q(tasks_reminded_on__lt=today)
    )
    people = list(not_yet.values_list("user_id", flat=True))
    if not people:
        return 0, 0
    due = {
        row["assignee_id"]: row
        for row in FollowUpTask.objects.filter(
            status=Status.OPEN, assignee_id__in=people, due_on__lte=today
        )
        .values("assignee_id")
        .annotate(
            today=Count("pk", filter=Q(due_on=today)),
            appointments=Count("pk", filter=Q(due_on=today, kind=FollowUpTask.Kind.APPOINTMENT)),
            overdue=Count("pk", filter=Q(due_on__lt=today)),
            oldest=Min("due_on"),
        )
    }
    reminded = []
    for person in people:
        if not not_yet.filter(user_id=person).update(tasks_reminded_on=today):
            continue  # a parallel sweep reminded this person
        if person in due:
            reminded.append(
                notification_build(
                    recipient_id=person,
                    kind="tasks_due",
                    message=_reminder(due[person]),
                    url=reverse("leads:queue"),
                    at=now,
                )
            )
    notifications_send_many(reminded)
    return len(people), len(reminded)


def _reminder(row):
    parts = []
    if row["today"]:
        appointments = row["appointments"]
        parts.append(
            f"{row['today']} task{'s' if row['today'] != 1 else ''} due today"
            + (
                f" ({appointments} appointment{'s' if appointments != 1 else ''})"
                if appointments
                else ""
            )  # fmt: skip
        )
    if row["overdue"]:
        parts.append(f"{row['overdue']} overdue since {row['oldest']:%b %-d}")
    return "Good morning: " + " and ".join(parts) + "."
