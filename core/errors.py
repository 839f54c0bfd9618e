"""The one application error type: a user-facing message plus a machine code."""

from __future__ import annotations


class ApplicationError(Exception):
    """Raised by services for input or state a user can fix.

    `message` is shown to people as is (already translated); `code` is stable for
    machines; `field` names the offending input where there is one; `status` is the
    HTTP status the API answers with (400, or 409 for a conflict with stored state).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "invalid",
        field: str | None = None,
        status: int = 400,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field
        self.status = status
