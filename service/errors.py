"""What the service services refuse, in words an advisor or an integrator understands."""

from dealercrm.errors import DomainError


class InvalidStage(DomainError):
    pass


class OpportunityClosed(DomainError):
    pass


class InvalidLoss(DomainError):
    pass


class InvalidOpportunity(DomainError):
    pass


class RecaptureClosed(DomainError):
    pass


class InvalidIssue(DomainError):
    pass
