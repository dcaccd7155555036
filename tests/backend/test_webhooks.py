"""Signed webhooks: set up with a secret shown once, every delivery signed (Standard
Webhooks, checked by a receiver written from the docs), retried while the receiver fails,
given up on a permanent refusal, formats for Slack and ntfy, and no private targets unless
the service allows them."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
from greennet_cloud.config import Delivery
from greennet_cloud.delivery.webhook import WebhookUrlRefused, check_url
from greennet_cloud.security.webhook_signature import verify

from .api import Account, Api
from .conftest import ApiFactory, FakeClock
from .notifying import (
    device_id_of,
    drain,
    eventually,
    eventually_async,
    failed_once,
    home_with_plugs,
    outbox_of,
    share_plug,
    states,
)
from .webhook_receiver import WebhookReceiver, standard_webhooks_valid

W = "/api/v1/notifications/webhook"


@pytest.fixture
async def receiver(socket_enabled: None) -> AsyncIterator[WebhookReceiver]:
    """A webhook receiver on loopback."""
    found = WebhookReceiver()
    await found.start()
    yield found
    await found.close()


async def hooked_api(make_api: ApiFactory) -> Api:
    # the receiver listens on loopback, which webhooks refuse by default
    return await make_api(delivery=Delivery(webhook_allow_private=True, retry_base_seconds=30))


async def set_webhook(api: Api, user: Account, url: str, **extra: str) -> str:
    reply = await api.call("PUT", W, token=user.access, json_body={"url": url, **extra})
    assert reply.status == 201, reply.body
    assert reply.body["secret"].startswith("whsec_")
    return str(reply.body["secret"])


async def test_a_share_reaches_the_webhook_signed(
    make_api: ApiFactory, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    api = await hooked_api(make_api)
    owner = await api.account("owner@example.com")
    friend = await api.account("friend@example.com")
    url = receiver.url
    secret = await set_webhook(api, friend, url)
    await home_with_plugs(api, owner, "greennet-0b0001")
    await share_plug(api, owner, "greennet-0b0001", friend.email, "control")

    await eventually(lambda: len(receiver.deliveries) == 1, what="the webhook")
    [delivery] = receiver.deliveries
    now = clock().timestamp()
    assert standard_webhooks_valid(secret, delivery.headers, delivery.body, now)
    assert verify(secret, delivery.headers, delivery.body, now)  # the service's own helper agrees
    event = json.loads(delivery.body)
    assert event["type"] == "share_received"
    assert event["data"]["device_id"] == await device_id_of(api, owner, "greennet-0b0001")
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.headers["User-Agent"].startswith("GreenNet-Cloud-Webhook/")

    async def sent() -> bool:
        return await states(api, friend.id) == ["sent"]

    await eventually_async(sent, what="the delivery to be recorded")
    [entry] = await outbox_of(api, friend.id)
    assert delivery.headers["webhook-id"] == entry.message.id
    # a tampered body, another secret or an old timestamp do not verify
    assert not standard_webhooks_valid(secret, delivery.headers, delivery.body + b" ", now)
    other = await api.call("POST", f"{W}/secret", token=friend.access)
    assert other.status == 201
    assert not standard_webhooks_valid(other.body["secret"], delivery.headers, delivery.body, now)
    assert not standard_webhooks_valid(secret, delivery.headers, delivery.body, now + 301)


async def test_the_secret_is_shown_once_and_kept_when_the_url_changes(
    make_api: ApiFactory, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    api = await hooked_api(make_api)
    user = await api.account("user@example.com")
    assert (await api.call("GET", W, token=user.access)).status == 404
    secret = await set_webhook(api, user, "https://hooks.example.com/a")
    shown = await api.call("GET", W, token=user.access)
    assert shown.body["url"] == "https://hooks.example.com/a"
    assert "secret" not in shown.body
    url = receiver.url
    moved = await api.call("PUT", W, token=user.access, json_body={"url": url})
    assert moved.status == 200
    assert "secret" not in moved.body

    tested = await api.call("POST", f"{W}/test", token=user.access)
    assert tested.status == 200
    assert tested.body == {"delivered": True, "error": None}
    [delivery] = receiver.deliveries
    assert standard_webhooks_valid(secret, delivery.headers, delivery.body, clock().timestamp())
    assert json.loads(delivery.body)["type"] == "webhook_test"

    assert (await api.call("DELETE", W, token=user.access)).status == 204
    assert (await api.call("DELETE", W, token=user.access)).status == 404
    assert (await api.call("POST", f"{W}/test", token=user.access)).status == 404


async def test_a_failing_receiver_gets_each_message_once_when_it_recovers(
    make_api: ApiFactory, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    api = await hooked_api(make_api)
    owner = await api.account("owner@example.com")
    friend = await api.account("friend@example.com")
    url = receiver.url
    await set_webhook(api, friend, url)
    plugs = ["greennet-0c0001", "greennet-0c0002"]
    await home_with_plugs(api, owner, *plugs)
    receiver.status = 503
    for plug in plugs:
        await share_plug(api, owner, plug, friend.email)

    await eventually_async(lambda: failed_once(api, friend.id, 2), what="two failed attempts")
    receiver.status = 200
    clock.advance(31)
    await drain(api)

    async def all_sent() -> bool:
        return set(await states(api, friend.id)) == {"sent"}

    await eventually_async(all_sent, what="the retries")
    clock.advance(7200)
    await drain(api)
    delivered = [d for d in receiver.deliveries if d.headers.get("webhook-id")]
    ok_ids = receiver.ids()[-2:]
    assert len(set(ok_ids)) == 2
    assert len(delivered) == 4  # two refused with 503, then each once
    # the retry carries the same id, so a receiver can deduplicate
    assert set(receiver.ids()[:2]) == set(ok_ids)


async def test_a_permanent_refusal_is_not_retried(
    make_api: ApiFactory, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    api = await hooked_api(make_api)
    owner = await api.account("owner@example.com")
    friend = await api.account("friend@example.com")
    url = receiver.url
    await set_webhook(api, friend, url)
    receiver.status = 410
    await home_with_plugs(api, owner, "greennet-0d0001")
    await share_plug(api, owner, "greennet-0d0001", friend.email)

    async def failed() -> bool:
        return await states(api, friend.id) == ["failed"]

    await eventually_async(failed, what="the refusal")
    clock.advance(86400)
    await drain(api)
    assert len(receiver.deliveries) == 1


@pytest.mark.parametrize(
    ("webhook_format", "content_type"),
    [("slack", "application/json"), ("ntfy", "text/plain; charset=utf-8")],
)
async def test_slack_and_ntfy_formats_are_signed_too(
    make_api: ApiFactory,
    receiver: WebhookReceiver,
    clock: FakeClock,
    webhook_format: str,
    content_type: str,
) -> None:
    api = await hooked_api(make_api)
    user = await api.account("user@example.com")
    url = receiver.url
    secret = await set_webhook(api, user, url, format=webhook_format)
    assert (await api.call("POST", f"{W}/test", token=user.access)).body["delivered"] is True
    [delivery] = receiver.deliveries
    assert delivery.headers["Content-Type"] == content_type
    assert standard_webhooks_valid(secret, delivery.headers, delivery.body, clock().timestamp())
    if webhook_format == "slack":
        assert json.loads(delivery.body) == {
            "text": "*GreenNet test*\nYour GreenNet webhook works.\n"
            "<http://127.0.0.1:8080/app/|Open GreenNet>"
        }
    else:
        assert delivery.body == b"Your GreenNet webhook works."
        assert delivery.headers["Title"] == "GreenNet test"
        assert delivery.headers["Click"] == "http://127.0.0.1:8080/app/"


async def test_private_targets_are_refused_by_default(api: Api) -> None:
    user = await api.account("user@example.com")
    for url in (
        "http://127.0.0.1:9/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:192.168.1.1]/hook",
        "ftp://example.com/hook",
        "https://example.com/hook#frag",
        "not a url",
        "https:///nohost",
    ):
        reply = await api.call("PUT", W, token=user.access, json_body={"url": url})
        assert reply.status == 400, url
        assert reply.error == "invalid_webhook_url"
    assert (await api.call("GET", W, token=user.access)).status == 404


async def test_a_name_that_resolves_to_loopback_is_not_reached(
    api: Api, receiver: WebhookReceiver
) -> None:
    user = await api.account("user@example.com")
    port = receiver.server.port if receiver.server else 0
    # "localhost" passes the URL check (a name), but resolves to loopback at send time
    await set_webhook(api, user, f"http://localhost:{port}/hook")
    tested = await api.call("POST", f"{W}/test", token=user.access)
    assert tested.body["delivered"] is False
    assert "no public address" in tested.body["error"]
    assert receiver.deliveries == []


def test_url_check_accepts_public_names_and_addresses() -> None:
    assert check_url("https://ntfy.sh/my-topic", allow_private=False).host == "ntfy.sh"
    assert check_url("http://93.184.216.34:8080/x", allow_private=False).port == 8080
    assert check_url("http://127.0.0.1:1/x", allow_private=True).host == "127.0.0.1"
    with pytest.raises(WebhookUrlRefused):
        check_url("http://" + "a" * 2048 + ".com/", allow_private=False)


async def test_webhook_tests_are_throttled(api: Api) -> None:
    user = await api.account("user@example.com")
    await set_webhook(api, user, "https://hooks.invalid/x")
    statuses = [(await api.call("POST", f"{W}/test", token=user.access)).status for _ in range(11)]
    assert statuses[:10] == [200] * 10
    assert statuses[10] == 429


def test_signature_helper_refuses_junk_headers() -> None:
    secret = "whsec_" + "A" * 44
    now = time.time()
    assert not verify(secret, {}, b"{}", now)
    assert not verify(secret, {"webhook-id": "x", "webhook-timestamp": "soon"}, b"{}", now)
