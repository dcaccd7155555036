"""An app that sends mail to a real test SMTP server, and accounts that verified their
address through the mailed link (notification mail goes only to verified addresses)."""

from __future__ import annotations

from greennet_cloud.config import Delivery, Smtp, SmtpSecurity

from .api import Account, Api
from .conftest import ApiFactory
from .mail import SmtpServer
from .notifying import eventually

SENDER = "GreenNet <alerts@greennet.example>"
PUBLIC_URL = "https://cloud.greennet.example"


async def mailing_api(make_api: ApiFactory, server: SmtpServer, **changes: object) -> Api:
    """An app mailing through `server`."""
    return await make_api(
        smtp=Smtp(host=server.host, port=server.port, security=SmtpSecurity.NONE,
                  sender=SENDER, timeout_seconds=5),
        delivery=Delivery(retry_base_seconds=30, retry_max_seconds=600),
        public_url=PUBLIC_URL,
        **changes,
    )  # fmt: skip


async def verified_account(api: Api, server: SmtpServer, email: str) -> Account:
    """Register, follow the mailed verification link, log in."""
    account = await api.account(email)
    await eventually(lambda: bool(server.to(email)), what=f"the verification mail to {email}")
    token = server.link_token(email, "verify-email")
    verified = await api.call("POST", "/api/v1/auth/verify-email", json_body={"token": token})
    assert verified.status == 204, verified.body
    return account
