"""What the lead services refuse, in words a salesperson or an integrator understands."""

from dealercrm.errors import DomainError


class InvalidTransition(DomainError):
    def __init__(self, from_status, to_status, allowed):
        self.from_status = from_status
        self.to_status = to_status
        choices = ", ".join(sorted(allowed)) or "none: it is closed"
        super().__init__(
            f"A lead in status '{from_status}' cannot move to '{to_status}'. "
            f"Allowed from '{from_status}': {choices}."
        )


class ReasonRequired(DomainError):
    pass


class InvalidReason(DomainError):
    pass


class LeadIsClosed(DomainError):
    pass


class InvalidActivity(DomainError):
    pass


class ActorRequired(DomainError):
    pass


class InvalidAssignee(DomainError):
    pass


class LeadAlreadyClaimed(DomainError):
    pass


class NoReassignReason(DomainError):
    pass


class OverCapacity(DomainError):
    pass


class LeadChangedMeanwhile(DomainError):
    """Someone else reassigned, closed or moved the lead after the person opened it: their
    change is refused instead of silently overwriting what happened."""


class TaskClosed(DomainError):
    pass


class InvalidAppointment(DomainError):
    pass


class InvalidLifecycleSetting(DomainError):
    def __init__(self, field, message):
        self.field = field
        super().__init__(message)
