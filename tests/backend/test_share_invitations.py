"""Sharing with an address that has no account sends an invitation instead of answering
`user_not_found`: the sharer's answer and list look the same either way, and the share
begins once someone registered with the address has confirmed it (not merely registered)."""

from __future__ import annotations

from .api import Account, Api
from .conftest import ApiFactory, FakeClock
from .mail import SmtpServer
from .mailing import mailing_api
from .notifying import eventually


async def shared_home(api: Api, owner: Account) -> str:
    made = await api.call("POST", "/api/v1/homes", token=owner.access, json_body={"name": "Loft"})
    assert made.status == 201
    return str(made.body["id"])


async def share(api: Api, owner: Account, home_id: str, email: str) -> dict[str, object]:
    reply = await api.call(
        "POST", f"/api/v1/homes/{home_id}/shares", token=owner.access,
        json_body={"email": email, "permission": "read"},
    )  # fmt: skip
    assert reply.status == 201, reply.body
    return dict(reply.body)


async def test_an_address_without_an_account_looks_like_any_other(
    api: Api, clock: FakeClock
) -> None:
    owner = await api.account("owner@example.com")
    await api.account("friend@example.com")
    home = await shared_home(api, owner)
    existing = await share(api, owner, home, "friend@example.com")
    clock.advance(1)
    invited = await share(api, owner, home, "Nobody@Example.com")
    assert existing.keys() == invited.keys()
    assert "user_id" not in invited
    assert invited["email"] == "nobody@example.com"
    again = await api.call(
        "POST", f"/api/v1/homes/{home}/shares", token=owner.access,
        json_body={"email": "nobody@example.com", "permission": "control"},
    )  # fmt: skip
    assert (again.status, again.error) == (409, "share_exists")  # as for an account
    listed = await api.call("GET", f"/api/v1/homes/{home}/shares", token=owner.access)
    assert [s["email"] for s in listed.body] == ["friend@example.com", "nobody@example.com"]
    assert {frozenset(s) for s in listed.body} == {frozenset(existing)}

    gone = await api.call(
        "DELETE", f"/api/v1/homes/{home}/shares/{invited['id']}", token=owner.access
    )
    assert gone.status == 204
    listed = await api.call("GET", f"/api/v1/homes/{home}/shares", token=owner.access)
    assert [s["email"] for s in listed.body] == ["friend@example.com"]
    stranger = await api.account("stranger@example.com")
    hidden = await api.call(
        "DELETE", f"/api/v1/homes/{home}/shares/{existing['id']}", token=stranger.access
    )
    assert hidden.status == 404


async def test_the_invitee_gets_the_share_once_the_address_is_confirmed(
    make_api: ApiFactory, smtp_server: SmtpServer
) -> None:
    api = await mailing_api(make_api, smtp_server)
    owner = await api.account("owner@example.com")
    home = await shared_home(api, owner)
    invited = await share(api, owner, home, "newcomer@example.com")
    await eventually(lambda: len(smtp_server.to("newcomer@example.com")) == 1, what="the invite")
    [mail] = smtp_server.to("newcomer@example.com")
    assert "shared a GreenNet home with you" in mail["Subject"]
    assert "Loft" in mail.get_content()

    newcomer = await api.account("newcomer@example.com")  # registering alone proves nothing
    assert (await api.call("GET", "/api/v1/homes", token=newcomer.access)).body == []
    await eventually(lambda: len(smtp_server.to(newcomer.email)) == 2, what="the verification")
    token = smtp_server.link_token(newcomer.email, "verify-email")
    assert (await api.call("POST", "/api/v1/auth/verify-email",
                           json_body={"token": token})).status == 204  # fmt: skip
    homes = (await api.call("GET", "/api/v1/homes", token=newcomer.access)).body
    assert [(h["id"], h["access"]) for h in homes] == [(home, "read")]
    notes = (await api.call("GET", "/api/v1/notifications", token=newcomer.access)).body
    assert [n["type"] for n in notes] == ["share_received"]
    # the sharer's list shows the same entry, now a share
    listed = await api.call("GET", f"/api/v1/homes/{home}/shares", token=owner.access)
    assert [(s["id"], s["email"]) for s in listed.body] == [(invited["id"], newcomer.email)]


async def test_an_expired_or_withdrawn_invitation_gives_nothing(
    make_api: ApiFactory, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    api = await mailing_api(make_api, smtp_server)
    owner = await api.account("owner@example.com")
    late_home = await shared_home(api, owner)
    withdrawn_home = await shared_home(api, owner)
    await share(api, owner, late_home, "late@example.com")
    withdrawn = await share(api, owner, withdrawn_home, "late@example.com")
    await api.call(
        "DELETE", f"/api/v1/homes/{withdrawn_home}/shares/{withdrawn['id']}", token=owner.access
    )
    clock.advance(14 * 86400)
    late = await api.account("late@example.com")
    await eventually(lambda: any("Confirm" in m["Subject"] for m in smtp_server.to(late.email)))
    token = smtp_server.link_token(late.email, "verify-email")
    assert (await api.call("POST", "/api/v1/auth/verify-email",
                           json_body={"token": token})).status == 204  # fmt: skip
    assert (await api.call("GET", "/api/v1/homes", token=late.access)).body == []
