"""E-mail over SMTP with aiosmtplib. A message is one outbox row; its Message-ID is derived
from the row id, so a receiver can recognise the rare resend after a lost SMTP reply."""

from __future__ import annotations

import logging
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib

from ..clock import Clock
from ..config import Smtp, SmtpSecurity
from ..models import OutboxMessage
from .senders import DeliveryFailed

_LOGGER = logging.getLogger(__name__)


def compose(
    smtp: Smtp, message: OutboxMessage, clock: Clock, *, list_unsubscribe: str | None = None
) -> EmailMessage:
    """The e-mail for an outbox message whose payload has `subject` and `text`."""
    mail = EmailMessage()
    mail["From"] = smtp.sender
    mail["To"] = message.recipient
    mail["Subject"] = str(message.payload["subject"])
    mail["Date"] = format_datetime(clock())
    mail["Message-ID"] = f"<{message.id}@{_sender_domain(smtp.sender)}>"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    if list_unsubscribe:
        mail["List-Unsubscribe"] = f"<{list_unsubscribe}>"
    mail.set_content(str(message.payload["text"]))
    return mail


def _sender_domain(sender: str) -> str:
    _name, address = parseaddr(sender)
    try:
        return Address(addr_spec=address).domain or "greennet.invalid"
    except (ValueError, IndexError):
        return "greennet.invalid"


class MailSender:
    """Sends outbox e-mail through the configured SMTP server (one connection per message)."""

    def __init__(self, smtp: Smtp, clock: Clock, base_url: str) -> None:
        self.smtp = smtp
        self.clock = clock
        self.base_url = base_url

    async def send(self, message: OutboxMessage) -> None:
        """Hand the message to the SMTP server; `DeliveryFailed` when it did not accept it."""
        mail = compose(
            self.smtp,
            message,
            self.clock,
            list_unsubscribe=f"{self.base_url}/app/#notifications"
            if message.payload.get("notification_id")
            else None,
        )
        security = self.smtp.security
        try:
            _refused, reply = await aiosmtplib.send(
                mail,
                hostname=self.smtp.host,
                port=self.smtp.port,
                username=self.smtp.username,
                password=self.smtp.password,
                use_tls=security is SmtpSecurity.TLS,
                start_tls=security is SmtpSecurity.STARTTLS,
                timeout=self.smtp.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            raise DeliveryFailed(f"recipient refused: {err}", permanent=_permanent(err)) from None
        except aiosmtplib.SMTPResponseException as err:
            raise DeliveryFailed(
                f"SMTP {err.code}: {err.message}", permanent=500 <= err.code < 600
            ) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as err:
            raise DeliveryFailed(f"SMTP server unreachable: {err or type(err).__name__}") from None
        _LOGGER.debug("mail %s accepted: %s", message.id, reply)


def _permanent(err: aiosmtplib.SMTPRecipientsRefused) -> bool:
    return all(500 <= refused.code < 600 for refused in err.recipients)
