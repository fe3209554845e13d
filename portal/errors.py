"""Domain errors: expected failures with a message a user can read.

Services raise them; views turn them into form errors or messages (never a 500).
"""


class DomainError(Exception):
    """An operation was refused for a reason the user can act on."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    pass


class Conflict(DomainError):
    pass
