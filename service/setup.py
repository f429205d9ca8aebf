"""What service managers set up: the service settings (when lost sales come back, when a visit
makes a sales lead) and the campaigns the recapture sweep offers declined work with.

The settings page, the campaigns page and the admin all write through here, so that the sweep
and the visits never read a value they cannot use; each change is logged with the person who
made it and its old and new values.
"""

import logging

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from dealercrm.errors import DomainError
from dealercrm.models import person_name
from leads.errors import ActorRequired
from service.models import Recapture, ServiceCampaign, ServiceSettings

logger = logging.getLogger(__name__)


class InvalidServiceSetting(DomainError):
    def __init__(self, field, message):
        self.field = field
        super().__init__(message)


class InvalidCampaign(DomainError):
    def __init__(self, field, message):
        self.field = field
        super().__init__(message)


# (lowest, highest, how the pages name it). A missed appointment may be rebooked the same day
# (0); declined work is offered again after a day at the soonest and within a year (campaigns
# reach back a year too). Past 30 years or a million km no car is left to sell on.
SETTING_LIMITS = {
    "rebook_after_days": (0, 30, "Rebook a missed appointment after (days)"),
    "follow_up_after_days": (1, 365, "Offer declined work again after (days)"),
    "sales_lead_vehicle_age_years": (0, 30, "Sales lead for a car this old (years)"),
    "sales_lead_mileage_km": (0, 1_000_000, "Sales lead for a car with this many km"),
}

# A keyword fits declined work when its lines mention it; one or two letters ("a", "oil" is
# three) would fit nearly everything.
KEYWORD_MIN_LENGTH = 3
WORDS_MAX_LENGTH = 200  # the model's makes and keywords fields


def setting_check(name, value):
    """`value` for the setting `name` as the sweep and the visits need it: a whole number within
    SETTING_LIMITS. Raises InvalidServiceSetting naming the setting."""
    if name not in SETTING_LIMITS:
        raise InvalidServiceSetting(name, f"There is no service setting named {name!r}.")
    low, high, label = SETTING_LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidServiceSetting(name, f"{label}: {value!r} is not a whole number.")
    if not low <= value <= high:
        raise InvalidServiceSetting(name, f"{label}: {value:,} is outside {low:,} to {high:,}.")
    return value


@transaction.atomic
def service_settings_update(*, by, **values):
    """Change the service settings named in `values` (field name = value). Losses logged from
    then on come back after the new days (those logged before keep their follow-up day); visits
    from then on make sales leads by the new thresholds.

    `by` is the person making the change. Only the values that change are saved, under the
    row's lock, and logged with their old and new values. Raises ActorRequired without a person
    and InvalidServiceSetting (naming the setting) for an unknown setting or a bad value;
    nothing is written then. Returns the settings as saved.
    """
    if not isinstance(by, AbstractBaseUser):
        raise ActorRequired("The service settings are changed by a person.")
    checked = {name: setting_check(name, value) for name, value in values.items()}
    ServiceSettings.current()  # the single row exists before it is locked
    row = ServiceSettings.objects.select_for_update().get(pk=1)
    changed = {}
    for name, value in checked.items():
        old = getattr(row, name)
        if old != value:
            setattr(row, name, value)
            changed[name] = (old, value)
    if changed:
        row.save(update_fields=sorted(changed))
        logger.info(
            "service settings changed by %s (user %s): %s",
            person_name(by),
            by.pk,
            "; ".join(f"{name} {old} -> {new}" for name, (old, new) in changed.items()),
        )
    return row


def campaign_words(text, field):
    """Comma-separated makes or keywords as stored: trimmed, each once (whatever its case), in
    the order typed. Raises InvalidCampaign naming `field` when a keyword is too short or the
    list too long."""
    words, seen = [], set()
    for part in (text or "").replace(";", ",").split(","):
        word = " ".join(part.split())
        if not word or word.lower() in seen:
            continue
        if field == "keywords" and len(word) < KEYWORD_MIN_LENGTH:
            raise InvalidCampaign(
                field,
                f"“{word}” is too short to pick declined work by: a keyword has at least "
                f"{KEYWORD_MIN_LENGTH} letters.",
            )
        seen.add(word.lower())
        words.append(word)
    joined = ", ".join(words)
    if len(joined) > WORDS_MAX_LENGTH:
        raise InvalidCampaign(
            field, f"{len(joined)} characters of {field}; at most {WORDS_MAX_LENGTH}."
        )
    return joined


def campaign_dates_check(starts_on, ends_on):
    """Raises InvalidCampaign (on `ends_on`) when the campaign would end before it starts."""
    if starts_on and ends_on and ends_on < starts_on:
        raise InvalidCampaign(
            "ends_on",
            f"The campaign ends ({ends_on:%b %-d, %Y}) before it starts ({starts_on:%b %-d, %Y}).",
        )


@transaction.atomic
def campaign_save(
    *, by, name, offer, starts_on, ends_on, makes="", keywords="", active=True, campaign=None
):
    """Add a campaign, or change `campaign`. While it is active and between its dates, the
    recapture sweep offers it (once per lost sale) to work declined on price or for a
    competitor's offer in the year before, when the car's make and the work's lines fit.
    Dates already offered stay offered: changing a campaign never takes an offer back.

    Raises ActorRequired without a person and InvalidCampaign naming the field that is wrong;
    nothing is written then. Returns (campaign, created).
    """
    if not isinstance(by, AbstractBaseUser):
        raise ActorRequired("Campaigns are set up by a person.")
    name, offer = " ".join((name or "").split()), " ".join((offer or "").split())
    if not name:
        raise InvalidCampaign("name", "Give the campaign a name, e.g. “Brake week”.")
    if not offer:
        raise InvalidCampaign("offer", "Say what the customer gets, e.g. “20% off brakes”.")
    if len(name) > 100:
        raise InvalidCampaign("name", f"The name has {len(name)} characters; at most 100.")
    if len(offer) > 200:
        raise InvalidCampaign("offer", f"The offer has {len(offer)} characters; at most 200.")
    if not starts_on:
        raise InvalidCampaign("starts_on", "Say when the campaign starts.")
    if not ends_on:
        raise InvalidCampaign("ends_on", "Say when the campaign ends.")
    campaign_dates_check(starts_on, ends_on)
    values = {
        "name": name,
        "offer": offer,
        "makes": campaign_words(makes, "makes"),
        "keywords": campaign_words(keywords, "keywords"),
        "starts_on": starts_on,
        "ends_on": ends_on,
        "active": bool(active),
    }
    created = campaign is None
    if created:
        campaign = ServiceCampaign.objects.create(**values)
        changes = ", ".join(f"{field} {value}" for field, value in values.items())
    else:
        campaign = ServiceCampaign.objects.select_for_update().get(pk=campaign.pk)
        changed = {
            f: (getattr(campaign, f), v) for f, v in values.items() if getattr(campaign, f) != v
        }
        if not changed:
            return campaign, False
        for field, (_, value) in changed.items():
            setattr(campaign, field, value)
        campaign.save(update_fields=sorted(changed))
        changes = "; ".join(f"{f} {old} -> {new}" for f, (old, new) in changed.items())
    logger.info(
        "service campaign %s %s by %s (user %s): %s",
        campaign.pk,
        "added" if created else "changed",
        person_name(by),
        by.pk,
        changes,
    )
    return campaign, created


def campaigns_for_setup():
    """Every campaign for the campaigns page, newest first, with how many lost sales it was
    offered to and how many of those the customer booked: one query (two counting subqueries
    over the recaptures' campaign column)."""
    offers = (
        Recapture.objects.filter(campaign=OuterRef("pk"))
        .order_by()
        .values("campaign")
        .annotate(n=Count("*"))
        .values("n")
    )
    booked = offers.filter(status=Recapture.Status.BOOKED)
    return ServiceCampaign.objects.annotate(
        offers=Coalesce(Subquery(offers, output_field=IntegerField()), Value(0)),
        booked=Coalesce(Subquery(booked, output_field=IntegerField()), Value(0)),
    ).order_by("-starts_on", "name", "pk")


def campaign_state(campaign, today):
    """ "running", "planned", "ended" or "off", as the sweep sees the campaign on `today`."""
    if not campaign.active:
        return "off"
    if campaign.ends_on < today:
        return "ended"
    if campaign.starts_on > today:
        return "planned"
    return "running"
