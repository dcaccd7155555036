"""Alerts reach the linked Home Assistant: the outbox's Home Assistant channel sends each
alert notification to the home's live hub, and keeps it while no hub is connected."""

from __future__ import annotations

import pytest
from greennet_cloud import Config

from .alerting import add_threshold, alerts_of, run_checks
from .api import Api
from .conftest import FakeClock
from .linking import linked_hub, with_link
from .notifying import drain, eventually_async, outbox_of
from .telemetry import ms, sample

PLUG = "greennet-a1e7a1"


@pytest.fixture
def config(config: Config) -> Config:
    """The test link settings."""
    return with_link(config)


async def ha_messages(api: Api, user_id: str) -> list[str]:
    """The delivery states of the user's outbox messages for Home Assistant."""
    return [
        entry.state
        for entry in await outbox_of(api, user_id)
        if entry.message.channel == "home_assistant"
    ]


async def _delivered(api: Api, user_id: str) -> bool:
    """Whether the user's one Home Assistant message is recorded as sent."""
    return await ha_messages(api, user_id) == ["sent"]


async def test_an_alert_raised_by_linked_telemetry_reaches_the_hub_as_a_notification(
    api: Api, clock: FakeClock
) -> None:
    home, hub, device_id = await linked_hub(api, "owner@example.com", PLUG)
    await add_threshold(api, home.owner, device_id, metric="power", direction="above", value=100)
    ack = await hub.request(
        "telemetry", seq=1, samples=[{"plug_id": PLUG, **sample(ms(clock.now), power=2000.0)}]
    )
    assert ack["stored"] == 1, ack
    [alert] = await alerts_of(api, home.owner)
    await drain(api)
    heard = await hub.next("notification")
    assert heard["notification_id"] == f"greennet_alert_{alert['id']}"
    assert heard["title"]
    # the outbox worker may be the one that sent it: its record follows the send
    await eventually_async(lambda: _delivered(api, home.owner.id), what="recorded as sent")
    await hub.close()


async def test_an_alert_raised_while_no_hub_is_linked_arrives_once_the_hub_is_back(
    api: Api, clock: FakeClock
) -> None:
    home, hub, device_id = await linked_hub(api, "owner@example.com", PLUG)
    await add_threshold(api, home.owner, device_id, metric="offline", duration_seconds=600)
    ack = await hub.request(
        "telemetry", seq=1, samples=[{"plug_id": PLUG, **sample(ms(clock.now))}]
    )
    assert ack["stored"] == 1, ack
    await hub.close()

    clock.advance(700)
    assert await run_checks(api)
    [alert] = await alerts_of(api, home.owner)
    await drain(api)
    assert await ha_messages(api, home.owner.id) == ["pending"]  # kept, to be retried

    back = home.hub(api, PLUG)
    await back.connect()
    clock.advance(3600)
    await drain(api)
    heard = await back.next("notification")
    assert heard["notification_id"] == f"greennet_alert_{alert['id']}"
    await eventually_async(lambda: _delivered(api, home.owner.id), what="recorded as sent")
    await back.close()
