"""Account mail through a real SMTP server: e-mail verification and password reset end to
end (single-use, short-lived, hashed tokens; the same answer whether or not an address has
an account; a reset ends every session)."""

from __future__ import annotations

from greennet_cloud.db.schema import account_tokens
from greennet_cloud.web.keys import ENGINE
from sqlalchemy import select

from .api import PASSWORD, Api
from .conftest import ApiFactory, FakeClock
from .mail import SmtpServer
from .mailing import PUBLIC_URL, mailing_api, verified_account
from .notifying import app_of, drain, eventually

V = "/api/v1/auth/verify-email"
R = "/api/v1/auth/password-reset"
NEW_PASSWORD = "a brand new passphrase"


async def test_registration_mails_a_link_that_verifies_the_address_once(
    make_api: ApiFactory, smtp_server: SmtpServer
) -> None:
    api = await mailing_api(make_api, smtp_server)
    user = await api.account("new@example.com")
    await eventually(lambda: len(smtp_server.to(user.email)) == 1, what="the verification mail")
    [mail] = smtp_server.to(user.email)
    assert mail["Subject"] == "Confirm your e-mail address for GreenNet"
    assert f"{PUBLIC_URL}/app/#verify-email=gnv_" in mail.get_content()
    status = await api.call("GET", V, token=user.access)
    assert status.body == {"email": user.email, "verified": False}

    token = smtp_server.link_token(user.email, "verify-email")
    assert (await api.call("POST", V, json_body={"token": token})).status == 204
    assert (await api.call("GET", V, token=user.access)).body["verified"] is True
    reused = await api.call("POST", V, json_body={"token": token})
    assert (reused.status, reused.error) == (400, "invalid_token")
    again = await api.call("POST", f"{V}/resend", token=user.access)
    assert (again.status, again.error) == (409, "email_verified")
    # only the hash is stored
    async with app_of(api)[ENGINE].connect() as conn:
        stored = [row.token_hash for row in await conn.execute(select(account_tokens))]
    assert token not in stored
    assert all(len(value) == 64 for value in stored)


async def test_verification_links_expire_and_a_new_one_voids_the_old(
    make_api: ApiFactory, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    api = await mailing_api(make_api, smtp_server)
    user = await api.account("new@example.com")
    await eventually(lambda: len(smtp_server.to(user.email)) == 1, what="the first mail")
    first = smtp_server.link_token(user.email, "verify-email")
    assert (await api.call("POST", f"{V}/resend", token=user.access)).status == 202
    await eventually(lambda: len(smtp_server.to(user.email)) == 2, what="the second mail")
    second = smtp_server.link_token(user.email, "verify-email")
    assert first != second
    voided = await api.call("POST", V, json_body={"token": first})
    assert voided.error == "invalid_token"
    clock.advance(24 * 3600)
    expired = await api.call("POST", V, json_body={"token": second})
    assert expired.error == "invalid_token"
    for junk in ("", "gnv_nope", "x" * 200):
        assert (await api.call("POST", V, json_body={"token": junk})).status == 400


async def test_a_link_for_an_address_the_account_left_verifies_nothing(
    make_api: ApiFactory, smtp_server: SmtpServer
) -> None:
    api = await mailing_api(make_api, smtp_server)
    user = await api.account("old@example.com")
    await eventually(lambda: len(smtp_server.to(user.email)) == 1, what="the verification mail")
    token = smtp_server.link_token(user.email, "verify-email")
    moved = await api.call(
        "PATCH", "/api/v1/users/me", token=user.access,
        json_body={"email": "new@example.com", "current_password": user.password},
    )  # fmt: skip
    assert moved.status == 200
    assert (await api.call("POST", V, json_body={"token": token})).error == "invalid_token"
    assert (await api.call("GET", V, token=user.access)).body == {
        "email": "new@example.com",
        "verified": False,
    }
    # the new address gets a link of its own
    await eventually(lambda: len(smtp_server.to("new@example.com")) == 1, what="the new link")
    fresh = smtp_server.link_token("new@example.com", "verify-email")
    assert (await api.call("POST", V, json_body={"token": fresh})).status == 204
    assert (await api.call("GET", V, token=user.access)).body["verified"] is True


async def test_password_reset_end_to_end_ends_every_session(
    make_api: ApiFactory, smtp_server: SmtpServer
) -> None:
    api = await mailing_api(make_api, smtp_server)
    user = await verified_account(api, smtp_server, "forgetful@example.com")
    other_session = await api.session(user.email, user.id)
    smtp_server.clear()

    asked = await api.call("POST", f"{R}/request", json_body={"email": "Forgetful@Example.com"})
    assert asked.status == 202
    await eventually(lambda: len(smtp_server.to(user.email)) == 1, what="the reset mail")
    [mail] = smtp_server.to(user.email)
    assert mail["Subject"] == "Reset your GreenNet password"
    token = smtp_server.link_token(user.email, "reset-password")
    assert token.startswith("gnp_")

    weak = await api.call("POST", R, json_body={"token": token, "new_password": "password"})
    assert (weak.status, weak.error) == (400, "weak_password")  # and the token still works
    done = await api.call("POST", R, json_body={"token": token, "new_password": NEW_PASSWORD})
    assert done.status == 204

    for session in (user, other_session):
        assert (await api.call("GET", "/api/v1/users/me", token=session.access)).status == 401
        refreshed = await api.call(
            "POST", "/api/v1/auth/refresh", json_body={"refresh_token": session.refresh}
        )
        assert refreshed.status == 401
    assert (await api.login(user.email, PASSWORD)).status == 401
    fresh = await api.session(user.email, user.id, NEW_PASSWORD)
    reused = await api.call(
        "POST", R, json_body={"token": token, "new_password": "yet another one!"}
    )
    assert (reused.status, reused.error) == (400, "invalid_token")

    notes = (await api.call("GET", "/api/v1/notifications", token=fresh.access)).body
    assert [n["type"] for n in notes] == ["security_password_changed"]
    await drain(api)
    await eventually(lambda: len(smtp_server.to(user.email)) == 2, what="the security mail")
    assert smtp_server.to(user.email)[-1]["Subject"] == "Your GreenNet password was reset"


async def test_the_answer_is_the_same_for_unknown_addresses_and_nothing_is_sent(
    make_api: ApiFactory, smtp_server: SmtpServer
) -> None:
    api = await mailing_api(make_api, smtp_server)
    known = await api.account("known@example.com")
    await eventually(lambda: len(smtp_server.messages) == 1, what="the verification mail")
    answers = []
    for email in ("known@example.com", "nobody@example.com", "not an address"):
        reply = await api.call("POST", f"{R}/request", json_body={"email": email})
        answers.append((reply.status, reply.body))
    assert answers[0] == answers[1] == answers[2]
    await eventually(lambda: len(smtp_server.to(known.email)) == 2, what="the one reset mail")
    await drain(api)
    assert [m["To"] for m in smtp_server.messages] == [known.email, known.email]


async def test_reset_links_expire_after_thirty_minutes(
    make_api: ApiFactory, smtp_server: SmtpServer, clock: FakeClock
) -> None:
    api = await mailing_api(make_api, smtp_server)
    user = await api.account("slow@example.com")
    await api.call("POST", f"{R}/request", json_body={"email": user.email})
    await eventually(lambda: len(smtp_server.to(user.email)) == 2, what="the reset mail")
    token = smtp_server.link_token(user.email, "reset-password")
    clock.advance(30 * 60)
    late = await api.call("POST", R, json_body={"token": token, "new_password": NEW_PASSWORD})
    assert (late.status, late.error) == (400, "invalid_token")
    assert (await api.login(user.email, PASSWORD)).status == 200


async def test_reset_requests_are_throttled_alike_for_known_and_unknown_addresses(
    make_api: ApiFactory, smtp_server: SmtpServer
) -> None:
    api = await mailing_api(make_api, smtp_server)
    await api.account("known@example.com")
    for email in ("known@example.com", "nobody@example.com"):
        statuses = [
            (await api.call("POST", f"{R}/request", json_body={"email": email})).status
            for _ in range(4)
        ]
        assert statuses == [202, 202, 202, 429], email


async def test_without_smtp_account_mail_says_it_is_unavailable(api: Api) -> None:
    user = await api.account("user@example.com")
    reply = await api.call("POST", f"{R}/request", json_body={"email": user.email})
    assert (reply.status, reply.error) == (503, "mail_unavailable")
    resend = await api.call("POST", f"{V}/resend", token=user.access)
    assert (resend.status, resend.error) == (503, "mail_unavailable")
