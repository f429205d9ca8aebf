"""Words about leads that routing and leads both speak: the channels a lead arrives through and
the score bands. They live in the core so that routing rules can name them without importing
`leads` (DESIGN.md: dependencies point one way)."""

from django.db import models


class LeadChannel(models.TextChoices):
    WEB_FORM = "web_form", "Website form"
    CHAT = "chat", "Chat"
    PHONE = "phone", "Phone call"
    EMAIL = "email", "E-mail"
    SMS = "sms", "Text message"
    WALK_IN = "walk_in", "Walk-in"
    THIRD_PARTY = "third_party", "Lead provider"
    OEM = "oem", "Manufacturer portal"
    SOCIAL = "social", "Social lead form"
    IMPORT = "import", "Import"
    RECYCLE = "recycle", "Recycled"
    SERVICE = "service", "Service visit"
    OTHER = "other", "Other"


# Score bands: hot leads go to experienced sellers, cold ones to BDC qualification (routing).
HOT_FROM = 70
WARM_FROM = 40
SCORE_BANDS = {
    "hot": (HOT_FROM, 100),
    "warm": (WARM_FROM, HOT_FROM - 1),
    "cold": (0, WARM_FROM - 1),
}


def band_for(score):
    if score >= HOT_FROM:
        return "hot"
    if score >= WARM_FROM:
        return "warm"
    return "cold"
