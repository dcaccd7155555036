"""History: raw samples with the wire's field names, rollups, the resolution choice,
counter resets, DST days and tariffs, CSV (content, and memory that stays flat)."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from greennet_cloud.models import Sample
from greennet_cloud.services.history import choose_resolution
from greennet_cloud.storage import devices as device_store
from greennet_cloud.web.keys import ENGINE, INGEST, JOBS

from .api import Api
from .conftest import FakeClock
from .telemetry import household, ms, sample

HOUR = 3_600_000


async def rollups(api: Api) -> None:
    assert api.client.app is not None
    assert await api.client.app[JOBS].run_job("rollups", force=True)


@pytest.mark.parametrize(
    ("span_ms", "expected"),
    [(10 * 60_000, "raw"), (1_000_000, "raw"), (1_000_001, "1m"), (86_400_000, "1h"),
     (30 * 86_400_000, "1h"), (365 * 86_400_000, "1d")],
)  # fmt: skip
def test_auto_resolution_keeps_a_chart_at_about_1000_points(span_ms: int, expected: str) -> None:
    assert choose_resolution("auto", 0, span_ms) == expected
    step = {"raw": 1000, "1m": 60_000, "1h": HOUR, "1d": 24 * HOUR}[expected]
    assert span_ms / step <= 1000 or expected == "1d"
    assert choose_resolution("1m", 0, span_ms) == "1m"


async def test_history_answers_raw_samples_and_rollups(api: Api, clock: FakeClock) -> None:
    home = await household(api, "h@example.com")
    plug = home.plugs[0]
    now = ms(clock.now)
    start = now - now % HOUR - HOUR  # a whole previous hour, one sample a minute
    samples = [sample(start + i * 60_000, power=float(i), energy=1.0 + i / 100) for i in range(60)]
    reply = await home.send(api, plug, samples, now)
    assert reply.body["stored"] == 60
    await rollups(api)
    path = f"/api/v1/devices/{plug.id}/telemetry"
    raw = await api.call(
        "GET", f"{path}?resolution=raw&from={start}&to={start + HOUR}", token=home.owner.access
    )
    assert raw.body["resolution"] == "raw"
    assert raw.body["points"][5] == {**samples[5], "current": samples[5]["current"]}
    hourly = await api.call(
        "GET", f"{path}?resolution=1h&from={start}&to={start + HOUR}", token=home.owner.access
    )
    [point] = hourly.body["points"]
    assert point["ts"] == start
    assert (point["samples"], point["power_min"], point["power_max"]) == (60, 0.0, 59.0)
    assert point["power"] == pytest.approx(29.5)
    assert point["energy_delta"] == pytest.approx(0.59)
    minutes = await api.call(
        "GET", f"{path}?from={start}&to={start + 2 * HOUR}", token=home.owner.access
    )
    assert (minutes.body["resolution"], len(minutes.body["points"])) == ("1m", 60)
    iso = await api.call(
        "GET", f"{path}?resolution=raw&from=2000-01-01T00:00:00Z", token=home.owner.access
    )
    assert iso.status == 200
    bad = await api.call("GET", f"{path}?from=yesterday", token=home.owner.access)
    assert (bad.status, bad.error) == (400, "invalid_input")


async def test_a_counter_reset_is_a_new_cycle_never_negative(api: Api, clock: FakeClock) -> None:
    home = await household(api, "reset@example.com")
    plug = home.plugs[0]
    now = ms(clock.now)
    start = now - now % HOUR - HOUR
    # 100.0 → 100.5 kWh, then the plug is reset: 0.0 → 0.25 kWh
    readings = [100.0, 100.25, 100.5, 0.0, 0.125, 0.25]
    samples = [sample(start + i * 600_000, energy=e) for i, e in enumerate(readings)]
    await home.send(api, plug, samples, now)
    await rollups(api)
    hourly = await api.call(
        "GET", f"/api/v1/devices/{plug.id}/telemetry?resolution=1h&from={start}&to={now}",
        token=home.owner.access,
    )  # fmt: skip
    [point] = hourly.body["points"]
    assert point["energy_delta"] == pytest.approx(0.5 + 0.0 + 0.25)
    minutes = await api.call(
        "GET", f"/api/v1/devices/{plug.id}/telemetry?resolution=1m&from={start}&to={now}",
        token=home.owner.access,
    )  # fmt: skip
    assert min(p["energy_delta"] for p in minutes.body["points"]) >= 0


@pytest.mark.parametrize(
    ("day", "hours"), [("2026-03-29", 23), ("2026-10-25", 25), ("2026-10-26", 24)]
)
async def test_energy_days_follow_the_home_time_zone_through_dst(
    api: Api, clock: FakeClock, day: str, hours: int
) -> None:
    """One kWh every hour: a Berlin day has 23 kWh in spring, 25 in autumn, 24 otherwise."""
    clock.now = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(days=3)
    home = await household(api, f"dst{hours}@example.com", timezone="Europe/Berlin")
    tariff = await api.call(
        "PATCH", f"/api/v1/homes/{home.home_id}", token=home.owner.access,
        json_body={"tariff": {"price_per_kwh": 0.3, "currency": "EUR"}},
    )  # fmt: skip
    assert tariff.body["tariff"] == {"price_per_kwh": 0.3, "currency": "EUR"}
    plug = home.plugs[0]
    first = ms(datetime.fromisoformat(day).replace(tzinfo=UTC)) - 2 * 86_400_000
    samples = [sample(first + h * HOUR, energy=float(h)) for h in range(5 * 24)]
    assert (await home.send(api, plug, samples, ms(clock.now))).body["stored"] == 120
    await rollups(api)
    for path in (f"/api/v1/devices/{plug.id}/energy", f"/api/v1/homes/{home.home_id}/energy"):
        reply = await api.call(
            "GET", f"{path}?period=day&from={day}&to={day}", token=home.owner.access
        )
        assert reply.status == 200, reply.body
        [period] = reply.body["periods"]
        assert (period["start"], period["energy_kwh"]) == (day, pytest.approx(hours))
        assert period["cost"] == pytest.approx(0.3 * hours)
        assert (reply.body["timezone"], reply.body["currency"]) == ("Europe/Berlin", "EUR")
    month = await api.call(
        "GET", f"/api/v1/homes/{home.home_id}/energy?period=month&from={day}&to={day}",
        token=home.owner.access,
    )  # fmt: skip
    assert month.body["periods"][0]["start"] == day[:8] + "01"
    berlin = ZoneInfo("Europe/Berlin")
    in_month = sum(  # each hourly increment counts in the local month of its sample
        1
        for h in range(1, 120)
        if datetime.fromtimestamp((first + h * HOUR) / 1000, berlin).month == int(day[5:7])
    )
    assert month.body["total_kwh"] == pytest.approx(in_month)


async def test_csv_export_holds_the_range_in_order(api: Api, clock: FakeClock) -> None:
    home = await household(api, "csv@example.com")
    plug = home.plugs[0]
    now = ms(clock.now)
    start = now - 2 * HOUR
    samples = [sample(start + i * 1000, power=float(i % 50)) for i in range(1200)]
    for chunk in range(0, 1200, 200):
        await home.send(api, plug, samples[chunk : chunk + 200], now + chunk)
    reply = await api.call(
        "GET", f"/api/v1/devices/{plug.id}/telemetry.csv?from={start}&to={now}",
        token=home.owner.access,
    )  # fmt: skip
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/csv")
    assert plug.plug_id in reply.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(reply.body)))
    assert rows[0] == ["time", "ts", "power", "voltage", "current", "energy", "relay"]
    assert len(rows) == 1201
    assert [int(row[1]) for row in rows[1:]] == [s["ts"] for s in samples]
    assert rows[1][0] == datetime.fromtimestamp(start / 1000, UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    assert datetime.fromisoformat(rows[2][0]).timestamp() * 1000 == samples[1]["ts"]
    assert rows[-1][2:] == ["49.0", "230.0", "0.213", "1.0", "ON"]


async def test_csv_export_of_rollups(api: Api, clock: FakeClock) -> None:
    home = await household(api, "csv1h@example.com")
    plug = home.plugs[0]
    now = ms(clock.now)
    start = now - now % HOUR - HOUR
    samples = [sample(start + i * 60_000, power=10.0 * (i % 3), energy=i / 60) for i in range(60)]
    await home.send(api, plug, samples, now)
    await rollups(api)
    reply = await api.call(
        "GET", f"/api/v1/devices/{plug.id}/telemetry.csv?resolution=1h&from={start}&to={now}",
        token=home.owner.access,
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(reply.body)))
    assert rows[0] == ["time", "ts", "samples", "power", "power_min", "power_max", "energy_delta"]
    [row] = rows[1:]
    assert (int(row[1]), int(row[2]), float(row[3]), float(row[4]), float(row[5])) == (
        start, 60, 10.0, 0.0, 20.0,
    )  # fmt: skip
    assert float(row[6]) == pytest.approx(59 / 60)


async def test_csv_export_memory_stays_flat_however_long_the_range(
    api: Api, clock: FakeClock
) -> None:
    """Twice the rows, not twice the memory: the export streams chunk by chunk."""
    home = await household(api, "csvmem@example.com")
    assert api.client.app is not None
    ingest = api.client.app[INGEST]
    async with api.client.app[ENGINE].connect() as conn:
        device = await device_store.find_device(conn, home.plugs[0].id)
    assert device is not None
    now = ms(clock.now)
    start = now - 2 * 86_400_000
    rows = 60_000
    for first in range(0, rows, 10_000):
        batch = [(device, Sample(start + i * 1000, 50.0, 230.0, 0.2, i / 3600, True))
                 for i in range(first, first + 10_000)]  # fmt: skip
        await ingest.store(batch)

    async def export(count: int) -> tuple[int, int]:
        """(peak traced bytes, CSV bytes) of exporting the first `count` samples."""
        path = (f"/api/v1/devices/{device.id}/telemetry.csv?from={start}"
                f"&to={start + count * 1000}")  # fmt: skip
        headers = {"Authorization": f"Bearer {home.owner.access}"}
        size = 0
        tracemalloc.start()
        try:
            async with api.client.get(path, headers=headers) as reply:
                assert reply.status == 200
                async for chunk in reply.content.iter_chunked(1 << 16):
                    size += len(chunk)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return peak, size

    half_peak, half_size = await export(rows // 2)
    full_peak, full_size = await export(rows)
    assert full_size > 1.9 * half_size
    assert full_peak < half_size  # far below even half the export: nothing is buffered whole
    assert full_peak < 1.5 * half_peak, (half_peak, full_peak)
