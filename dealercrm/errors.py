class DomainError(Exception):
    """A request the domain refuses. The message is written for the person who made it, so views
    and the API can show it as it is."""


class InvalidContactDetail(DomainError):
    def __init__(self, field, value, problem):
        self.field = field
        self.value = value
        super().__init__(f"{field} {value!r} {problem}")


class InvalidStaffSetting(DomainError):
    pass
