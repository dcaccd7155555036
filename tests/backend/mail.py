"""A real SMTP server for tests (aiosmtpd on 127.0.0.1), which can be stopped and restarted
on the same port, and refuses chosen recipients with a permanent 550."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from ..broker import free_port


class MailRecorder:
    """aiosmtpd handler: keeps every accepted message."""

    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted"


class SmtpServer:
    """An SMTP server on a fixed loopback port; `stop()` and `start()` as often as needed."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.recorder = MailRecorder(refuse or set())
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        """Every message accepted so far (across restarts)."""
        with self.recorder._lock:
            return list(self.recorder.messages)

    def to(self, address: str) -> list[EmailMessage]:
        """Messages accepted for `address`."""
        return [message for message in self.messages if message["To"] == address]

    def clear(self) -> None:
        """Forget the messages accepted so far."""
        with self.recorder._lock:
            self.recorder.messages.clear()

    def link_token(self, address: str, fragment: str) -> str:
        """The token of the newest `…/app/#<fragment>=<token>` link mailed to `address`."""
        for message in reversed(self.to(address)):
            found = re.search(rf"#{fragment}=(\S+)", message.get_content())
            if found:
                return found.group(1)
        raise AssertionError(f"no {fragment} link mailed to {address}")

    def start(self) -> None:
        """Listen (again) on the same port."""
        self._controller = Controller(self.recorder, hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until `start()`."""
        controller, self._controller = self._controller, None
        if controller is None:
            return
        # aiosmtpd's stop() joins its thread without a timeout: fail instead of hanging
        stopper = threading.Thread(target=controller.stop, daemon=True)
        stopper.start()
        stopper.join(timeout=15)
        if stopper.is_alive():
            raise AssertionError("the test SMTP server did not stop within 15 s")
