"""E-mail notifications through a real SMTP server (aiosmtpd on loopback): delivered once,
kept while the server is down and delivered once when it is back, never doubled; refused
recipients are given up without retrying; preferences decide who gets mail."""

from __future__ import annotations

from greennet_cloud.storage import account_tokens as token_store
from greennet_cloud.web.keys import ENGINE, OUTBOX

from .conftest import ApiFactory, FakeClock
from .mail import SmtpServer
from .mailing import mailing_api, verified_account
from .notifying import (
    app_of,
    drain,
    eventually,
    eventually_async,
    home_with_plugs,
    outbox_of,
    states,
)
from .notifying import share_plug as share

N = "/api/v1/notifications"


async def test_a_share_notification_is_mailed_once(
    make_api: ApiFactory, smtp_server: SmtpServer
) -> None:
    api = await mailing_api(make_api, smtp_server)
    owner = await api.account("owner@example.com")
    friend = await verified_account(api, smtp_server, "friend@example.com")
    smtp_server.clear()
    await home_with_plugs(api, owner, "greennet-00a001")
    await share(api, owner, "greennet-00a001", friend.email)

    await eventually(lambda: len(smtp_server.messages) == 1, what="the mail")
    [mail] = smtp_server.messages
    assert mail["To"] == friend.email
    assert mail["From"] == "GreenNet <alerts@greennet.example>"
    assert "Plug 01" in mail["Subject"]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"].endswith("@greennet.example>")
    assert "https://cloud.greennet.example/app/" in mail.get_content()

    async def sent() -> bool:
        return await states(api, friend.id) == ["sent"]

    await eventually_async(sent, what="the delivery to be recorded")
    [entry] = await outbox_of(api, friend.id)
    assert mail["Message-ID"] == f"<{entry.message.id}@greennet.example>"
    await drain(api)
    assert len(smtp_server.messages) == 1
    preferences = await api.call("GET", f"{N}/preferences", token=friend.access)
    assert preferences.body["available"]["email"] is True


async def test_smtp_down_then_back_loses_nothing_and_doubles_nothing(
    make_api: ApiFactory, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    api = await mailing_api(make_api, smtp_server)
    owner = await api.account("owner@example.com")
    friend = await verified_account(api, smtp_server, "friend@example.com")
    smtp_server.clear()
    plugs = [f"greennet-00b00{n}" for n in range(4)]
    await home_with_plugs(api, owner, *plugs)
    await share(api, owner, plugs[0], friend.email)
    await eventually(lambda: len(smtp_server.messages) == 1, what="the first mail")

    smtp_server.stop()
    for plug in plugs[1:]:
        await share(api, owner, plug, friend.email)

    async def three_failed() -> bool:
        found = await outbox_of(api, friend.id)
        return sum(e.state == "pending" and e.last_error is not None for e in found) == 3

    await eventually_async(three_failed, what="three failed attempts")
    # retried with backoff while the server stays down: nothing is lost
    clock.advance(31)
    await drain(api)
    pending = [e.message for e in await outbox_of(api, friend.id) if e.state == "pending"]
    assert len(pending) == 3
    assert all(message.attempts == 2 for message in pending)
    assert len(smtp_server.messages) == 1

    smtp_server.start()
    await drain(api)  # not due yet: the second backoff (60 s) has not passed
    assert len(smtp_server.messages) == 1
    clock.advance(61)
    app_of(api)[OUTBOX].wake()
    await eventually(lambda: len(smtp_server.messages) == 4, what="the three queued mails")

    async def all_sent() -> bool:
        return set(await states(api, friend.id)) == {"sent"}

    await eventually_async(all_sent, what="the deliveries to be recorded")
    # later passes send nothing again
    clock.advance(3600)
    await drain(api)
    assert len(smtp_server.messages) == 4
    ids = [mail["Message-ID"] for mail in smtp_server.messages]
    assert len(set(ids)) == 4
    subjects = sorted(mail["Subject"] for mail in smtp_server.messages)
    assert len(set(subjects)) == 4  # one mail per share, none twice
    assert set(await states(api, friend.id)) == {"sent"}


async def test_a_refused_recipient_is_given_up_at_once(
    make_api: ApiFactory, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    api = await mailing_api(make_api, smtp_server)
    owner = await api.account("owner@example.com")
    bounce = await api.account("bounce@example.com")
    async with app_of(api)[ENGINE].begin() as conn:  # the server refuses it, even its link
        await token_store.mark_verified(conn, bounce.id, bounce.email, clock())
    await home_with_plugs(api, owner, "greennet-00c001")
    await share(api, owner, "greennet-00c001", bounce.email)

    async def failed() -> bool:
        return await states(api, bounce.id) == ["failed"]

    await eventually_async(failed, what="the message to fail")
    clock.advance(86400)
    await drain(api)
    [entry] = await outbox_of(api, bounce.id)
    assert (entry.state, entry.message.attempts) == ("failed", 1)
    assert entry.last_error is not None
    assert "550" in entry.last_error
    assert smtp_server.to(bounce.email) == []  # its verification mail was refused too


async def test_mail_is_off_for_a_user_who_turned_it_off(
    make_api: ApiFactory, smtp_server: SmtpServer
) -> None:
    api = await mailing_api(make_api, smtp_server)
    owner = await api.account("owner@example.com")
    friend = await verified_account(api, smtp_server, "friend@example.com")
    smtp_server.clear()
    quiet = await verified_account(api, smtp_server, "quiet@example.com")
    smtp_server.clear()
    turned_off = await api.call(
        "PATCH", f"{N}/preferences", token=quiet.access,
        json_body={"types": {"share_received": {"email": False}}},
    )  # fmt: skip
    assert turned_off.status == 200
    await home_with_plugs(api, owner, "greennet-00d001")
    await share(api, owner, "greennet-00d001", quiet.email)
    await share(api, owner, "greennet-00d001", friend.email)
    await eventually(lambda: len(smtp_server.messages) == 1, what="the one mail")
    await drain(api)
    assert [mail["To"] for mail in smtp_server.messages] == [friend.email]
    assert await outbox_of(api, quiet.id) == []
    # in the app all the same
    assert len((await api.call("GET", N, token=quiet.access)).body) == 1


async def test_no_notification_mail_to_an_address_nobody_verified(
    make_api: ApiFactory, smtp_server: SmtpServer
) -> None:
    api = await mailing_api(make_api, smtp_server)
    owner = await api.account("owner@example.com")
    friend = await api.account("friend@example.com")  # never follows the link
    await eventually(lambda: len(smtp_server.to(friend.email)) == 1, what="the verification")
    await home_with_plugs(api, owner, "greennet-00e001")
    await share(api, owner, "greennet-00e001", friend.email)
    await drain(api)
    assert [m["Subject"] for m in smtp_server.to(friend.email)] == [
        "Confirm your e-mail address for GreenNet"
    ]
    assert await outbox_of(api, friend.id) == []
    assert [e.message.kind for e in await outbox_of(api, friend.id, account_mail=True)] == [
        "verify_email"
    ]
    assert len((await api.call("GET", N, token=friend.access)).body) == 1  # in the app
