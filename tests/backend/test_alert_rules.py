"""Thresholds evaluated against readings with time moved by the test: durations, a break
restarting the wait, hysteresis, both directions, repeat policies, quiet hours, offline;
everyone who may read the device is notified."""

from __future__ import annotations

from datetime import UTC, datetime

from .alerting import (
    add_rule,
    alert_notifications,
    alerts_of,
    fresh,
    household,
    report,
    run_checks,
)
from .api import Api
from .conftest import FakeClock


async def test_an_alert_is_raised_once_the_condition_held_for_its_duration(
    api: Api, clock: FakeClock
) -> None:
    home = await household(api)
    await add_rule(api, home, metric="power", direction="above", value=2000,
                        duration_seconds=300)  # fmt: skip
    await report(api, clock, home, power=2500)
    clock.advance(299)
    await report(api, clock, home, power=2600)
    assert await alerts_of(api, home.owner) == []
    clock.advance(1)
    await report(api, clock, home, power=2700)
    [alert] = await alerts_of(api, home.owner)
    assert (alert["state"], alert["value"], alert["limit"]) == ("active", 2700, 2000)
    assert alert["raised_at"] == clock().isoformat().replace("+00:00", "Z")
    for who in (home.owner, home.controller, home.reader):
        [note] = await alert_notifications(api, who)
        assert note["type"] == "alert_raised"
        assert note["title"] == "Plug 01: power above 2000 W"
        assert note["data"]["alert_id"] == alert["id"]
    assert await alert_notifications(api, home.stranger) == []
    # still above: the same alert, no second one
    clock.advance(60)
    await report(api, clock, home, power=2800)
    assert len(await alerts_of(api, home.owner)) == 1


async def test_a_reading_back_in_range_restarts_the_wait(api: Api, clock: FakeClock) -> None:
    home = await household(api)
    await add_rule(api, home, metric="power", direction="above", value=2000,
                        duration_seconds=300)  # fmt: skip
    await report(api, clock, home, power=2500)
    clock.advance(200)
    await report(api, clock, home, power=1999)  # a break
    clock.advance(50)
    await report(api, clock, home, power=2500)
    clock.advance(250)  # 500 s since the first reading, 250 s since the break
    await report(api, clock, home, power=2500)
    assert await alerts_of(api, home.owner) == []
    clock.advance(50)
    await report(api, clock, home, power=2500)
    assert len(await alerts_of(api, home.owner)) == 1


async def test_hysteresis_keeps_the_alert_until_the_value_is_clearly_back(
    api: Api, clock: FakeClock
) -> None:
    home = await household(api)
    await add_rule(api, home, metric="current", direction="above", value=10,
                        hysteresis=1)  # fmt: skip
    await report(api, clock, home, current=12)
    clock.advance(10)
    for current in (9.5, 10.5, 9.01):  # inside the band: still open
        await report(api, clock, home, current=current)
        clock.advance(10)
    [alert] = await alerts_of(api, home.owner)
    assert alert["state"] == "active"
    await report(api, clock, home, current=9.0)
    [alert] = await alerts_of(api, home.owner)
    assert alert["state"] == "resolved"
    assert alert["resolved_by"] is None  # automatic
    notes = await alert_notifications(api, home.reader)
    assert [n["type"] for n in notes] == ["alert_raised", "alert_resolved"]
    detail = await api.call(
        "GET", f"/api/v1/alerts/{alert['id']}", token=(await fresh(api, home.reader)).access
    )
    assert [event["kind"] for event in detail.body["history"]] == [
        "raised", "notified", "resolved"
    ]  # fmt: skip
    # a new episode is a new alert
    clock.advance(10)
    await report(api, clock, home, current=11)
    assert [a["state"] for a in await alerts_of(api, home.owner)] == ["active", "resolved"]


async def test_a_freezer_drawing_nothing_for_twenty_minutes(api: Api, clock: FakeClock) -> None:
    home = await household(api)
    await add_rule(api, home, metric="power", direction="below", value=5,
                        hysteresis=20, duration_seconds=1200, name="Freezer off")  # fmt: skip
    await report(api, clock, home, power=80)
    for _ in range(20):  # low from the first of these: 19 minutes
        clock.advance(60)
        await report(api, clock, home, power=0.4)
    assert await alerts_of(api, home.owner) == []
    clock.advance(60)
    await report(api, clock, home, power=0.4)
    [alert] = await alerts_of(api, home.owner)
    assert alert["direction"] == "below"
    [note] = await alert_notifications(api, home.owner)
    assert "0.4 W, below the limit of 5 W" in note["body"]
    clock.advance(60)
    await report(api, clock, home, power=20)  # within the hysteresis (5 + 20): still open
    assert (await alerts_of(api, home.owner))[0]["state"] == "active"
    clock.advance(60)
    await report(api, clock, home, power=85)  # compressor back on
    assert (await alerts_of(api, home.owner))[0]["state"] == "resolved"


async def test_repeat_once_hourly_and_daily(api: Api, clock: FakeClock) -> None:
    home = await household(api)
    for repeat, value in (("once", 100), ("hourly", 200), ("daily", 300)):
        await add_rule(api, home, metric="power", direction="above",
                            value=value, repeat=repeat)  # fmt: skip
    await report(api, clock, home, power=1000)

    async def titles() -> list[str]:
        return [n["title"] for n in await alert_notifications(api, home.owner)]

    assert len(await titles()) == 3
    clock.advance(3599)
    await run_checks(api)
    assert len(await titles()) == 3
    clock.advance(1)
    await run_checks(api)
    assert (await titles())[3:] == ["Plug 01: power above 200 W (still)"]
    clock.advance(3600 * 23)
    await run_checks(api)
    reminders = (await titles())[3:]
    assert reminders.count("Plug 01: power above 200 W (still)") == 2  # hourly, not every tick
    assert reminders.count("Plug 01: power above 300 W (still)") == 1
    assert not any("100 W" in title for title in reminders)


async def test_acknowledging_silences_reminders(api: Api, clock: FakeClock) -> None:
    home = await household(api)
    await add_rule(api, home, metric="power", direction="above", value=100,
                        repeat="hourly")  # fmt: skip
    await report(api, clock, home, power=1000)
    [alert] = await alerts_of(api, home.owner)
    acked = await api.call(
        "POST", f"/api/v1/alerts/{alert['id']}/acknowledge",
        token=(await fresh(api, home.controller)).access,
    )  # fmt: skip
    assert acked.status == 200
    clock.advance(7200)
    await run_checks(api)
    assert len(await alert_notifications(api, home.owner)) == 1


async def test_quiet_hours_hold_notifications_until_morning(api: Api, clock: FakeClock) -> None:
    clock.now = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    home = await household(api)
    await add_rule(api, home, metric="power", direction="above", value=100,
                        quiet_hours={"start": "22:00", "end": "07:00"})  # fmt: skip
    await report(api, clock, home, power=1000)
    [alert] = await alerts_of(api, home.owner)
    assert alert["state"] == "active"  # raised and listed, but nobody woken
    assert await alert_notifications(api, home.owner) == []
    clock.now = datetime(2026, 12, 2, 6, 59, tzinfo=UTC)
    await run_checks(api)
    assert await alert_notifications(api, home.owner) == []
    clock.now = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    await run_checks(api)
    [note] = await alert_notifications(api, home.owner)
    assert note["type"] == "alert_raised"
    clock.advance(60)
    await run_checks(api)
    assert len(await alert_notifications(api, home.owner)) == 1  # repeat: once


async def test_an_alert_over_before_morning_wakes_nobody(api: Api, clock: FakeClock) -> None:
    clock.now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    home = await household(api)
    await add_rule(api, home, metric="power", direction="above", value=100,
                        quiet_hours={"start": "22:00", "end": "07:00"})  # fmt: skip
    await report(api, clock, home, power=1000)
    clock.advance(600)
    await report(api, clock, home, power=10)
    clock.now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    await run_checks(api)
    assert await alert_notifications(api, home.owner) == []
    [alert] = await alerts_of(api, home.owner)
    assert alert["state"] == "resolved"


async def test_a_plug_silent_for_its_offline_duration_raises_and_its_return_resolves(
    api: Api, clock: FakeClock
) -> None:
    home = await household(api)
    await add_rule(api, home, metric="offline", duration_seconds=1200)
    await run_checks(api)  # never seen: nothing to say
    seen_at = clock()
    await report(api, clock, home, power=50)
    clock.advance(1199)
    await run_checks(api)
    assert await alerts_of(api, home.owner) == []
    clock.advance(1)
    await run_checks(api)
    [alert] = await alerts_of(api, home.owner)
    assert (alert["metric"], alert["value"], alert["limit"]) == ("offline", None, None)
    assert alert["raised_at"] == seen_at.isoformat().replace("+00:00", "Z")
    [note] = await alert_notifications(api, home.reader)
    assert note["title"] == "Plug 01 is offline"
    clock.advance(600)
    await run_checks(api)  # still offline: one alert
    assert len(await alerts_of(api, home.owner)) == 1

    await report(api, clock, home, power=50)
    [alert] = await alerts_of(api, home.owner)
    assert alert["state"] == "resolved"
    assert [n["type"] for n in await alert_notifications(api, home.owner)] == [
        "alert_raised", "alert_resolved"
    ]  # fmt: skip


async def test_disabled_thresholds_do_nothing(api: Api, clock: FakeClock) -> None:
    home = await household(api)
    await add_rule(api, home, metric="power", direction="above", value=100,
                        enabled=False)  # fmt: skip
    await report(api, clock, home, power=1000)
    assert await alerts_of(api, home.owner) == []
