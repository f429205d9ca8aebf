"""What routing refuses, in words a BDC manager understands."""

from dealercrm.errors import DomainError


class InvalidRule(DomainError):
    """A rule that cannot work as given; `field` names the part that is wrong."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
