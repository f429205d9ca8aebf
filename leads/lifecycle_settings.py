"""The writer of the life-cycle settings (LifecycleSettings): how the scheduled sweeps treat
quiet, lost and returning customers. Managers change them on their page and in the admin; both
come through here, so that the sweeps never read a tier list they cannot use."""

import logging
from collections import Counter

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from dealercrm.models import person_name
from leads.errors import ActorRequired, InvalidLifecycleSetting
from leads.models import LifecycleSettings

logger = logging.getLogger(__name__)

# The stale sweep flags a lead tier by tier; more than three tiers is noise for the person whose
# queue shows them, and past 90 days a quiet open lead is for the weekly archive, not a flag.
STALE_TIERS_MOST = 3
STALE_TIER_DAYS = (1, 90)
REMINDER_HOURS = (0, 23)

EDITABLE = frozenset(
    field.name for field in LifecycleSettings._meta.concrete_fields if not field.primary_key
)


def stale_tiers_check(tiers):
    """`tiers` as the stale sweep needs them: 1 to 3 distinct whole numbers of days from 1 to
    90, returned in ascending order. Raises InvalidLifecycleSetting saying what is wrong."""
    low, high = STALE_TIER_DAYS
    if not isinstance(tiers, list | tuple) or not tiers:
        raise InvalidLifecycleSetting("stale_tiers", "Give at least one quiet tier, e.g. 7.")
    for days in tiers:
        if isinstance(days, bool) or not isinstance(days, int):
            raise InvalidLifecycleSetting("stale_tiers", f"{days!r} is not a whole number of days.")
        if not low <= days <= high:
            raise InvalidLifecycleSetting(
                "stale_tiers", f"{days} days is outside {low} to {high} days."
            )
    if len(tiers) > STALE_TIERS_MOST:
        raise InvalidLifecycleSetting(
            "stale_tiers", f"{len(tiers)} tiers given; at most {STALE_TIERS_MOST}."
        )
    repeated = sorted(days for days, times in Counter(tiers).items() if times > 1)
    if repeated:
        raise InvalidLifecycleSetting(
            "stale_tiers",
            f"{', '.join(map(str, repeated))} days given twice; each tier is a different "
            f"number of days.",
        )
    return sorted(tiers)


@transaction.atomic
def lifecycle_settings_set(*, by, **values):
    """Change the life-cycle settings named in `values` (field name = value); the sweeps read
    them at their next run.

    `by` is the person making the change. The tiers are checked by `stale_tiers_check` and
    stored ascending; every value is checked against its field (and the reminder hour is
    0 to 23). Only the fields whose value changes are saved, under the row's lock, and the
    change is logged with its old and new values and the person.
    Raises ActorRequired without a person, InvalidLifecycleSetting (naming the field) for an
    unknown setting or a bad value; nothing is written then. Returns the settings as saved.
    """
    if not isinstance(by, AbstractBaseUser):
        raise ActorRequired("The life-cycle settings are changed by a person.")
    unknown = sorted(set(values) - EDITABLE)
    if unknown:
        raise InvalidLifecycleSetting(unknown[0], f"There is no setting named {unknown[0]!r}.")
    if "stale_tiers" in values:
        values["stale_tiers"] = stale_tiers_check(values["stale_tiers"])
    if "reminder_hour" in values:
        low, high = REMINDER_HOURS
        hour = values["reminder_hour"]
        if isinstance(hour, bool) or not isinstance(hour, int) or not low <= hour <= high:
            raise InvalidLifecycleSetting(
                "reminder_hour", f"The reminder hour is an hour of the day, {low} to {high}."
            )
    LifecycleSettings.current()  # the single row exists before it is locked
    row = LifecycleSettings.objects.select_for_update().get(pk=1)
    changed = {}
    for name, value in values.items():
        old = getattr(row, name)
        if old != value:
            setattr(row, name, value)
            changed[name] = (old, value)
    if not changed:
        return row
    try:
        row.clean_fields(exclude=EDITABLE - set(changed))
    except ValidationError as error:
        name, problems = next(iter(error.message_dict.items()))
        label = LifecycleSettings._meta.get_field(name).verbose_name
        raise InvalidLifecycleSetting(name, f"{label.capitalize()}: {' '.join(problems)}") from None
    row.save(update_fields=sorted(changed))
    logger.info(
        "life-cycle settings changed by %s (user %s): %s",
        person_name(by),
        by.pk,
        "; ".join(f"{name} {old} -> {new}" for name, (old, new) in changed.items()),
    )
    return row
