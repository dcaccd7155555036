"""Domain errors raised by services. The web layer maps each kind to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base: a machine-readable `code` and a human `message`."""

    code = "error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    """The caller sent something the domain rejects (bad field, weak password)."""

    code = "invalid_input"


class UnsupportedMediaType(DomainError):
    """The body is not in the one media type the endpoint reads (JSON)."""

    code = "unsupported_media_type"


class Unauthenticated(DomainError):
    """No valid credentials (bad token, wrong password, revoked session)."""

    code = "unauthenticated"


class Forbidden(DomainError):
    """Authenticated and allowed to see the object, but not to do this to it."""

    code = "forbidden"


class NotFound(DomainError):
    """The object does not exist or the caller may not know it exists."""

    code = "not_found"


class Conflict(DomainError):
    """The request clashes with current state (duplicate email, existing share)."""

    code = "conflict"


class Throttled(DomainError):
    """Too many attempts; retry after `retry_after` seconds."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class Unavailable(DomainError):
    """Busy right now (every password worker taken); retry after `retry_after` seconds."""

    code = "busy"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class PayloadTooLarge(DomainError):
    """The request carries more than the service takes at once (413)."""

    code = "payload_too_large"


class NotConfigured(DomainError):
    """This service is not set up to do it (no mail server configured): 503, no retry hint."""

    code = "not_configured"


class Offline(DomainError):
    """What the request needs is not connected: the home's hub or the plug (503)."""

    code = "hub_offline"


class TimedOut(DomainError):
    """No answer in time from the hub (504)."""

    code = "command_timeout"


class BadGateway(DomainError):
    """The hub answered with something the cloud cannot use (502)."""

    code = "hub_error"
