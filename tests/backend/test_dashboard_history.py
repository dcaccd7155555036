"""A plug's history in the dashboard (headless Chromium, real backend): readings ingested
through the signed device route, then the chart for a day and for a month and the energy
bars, each checked against what the API answers for the same range."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from selenium.webdriver.common.keys import Keys

from .dashboard_page import DashboardPage, LiveApi
from .live import LiveServer
from .telemetry import sample, signed_headers

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS


def _ingest(server: LiveServer, paired: dict[str, Any], samples: list[dict[str, Any]]) -> None:
    """Send samples as the plug would: signed, in batches."""
    for first in range(0, len(samples), 500):
        body = json.dumps({"samples": samples[first : first + 500]}).encode()
        now_ms = int(time.time() * 1000)
        headers = signed_headers(
            paired["device"]["id"], paired["credential"]["secret"], body, now_ms
        )
        reply = requests.post(server.base_url + "/api/v1/ingest", data=body, headers=headers,
                              timeout=30)  # fmt: skip
        assert reply.status_code == 200, reply.text
        assert reply.json()["stored"] == len(samples[first : first + 500]), reply.text


def _wait_for_rollups(
    api: LiveApi, token: str, device: str, readings: list[dict[str, Any]]
) -> None:
    """Wait until the rollup job has counted every reading into the hourly points."""
    start = min(reading["ts"] for reading in readings) // HOUR_MS * HOUR_MS
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = api.ok("GET", f"/api/v1/devices/{device}/telemetry?from={start}&resolution=1h",
                        token=token)  # fmt: skip
        if sum(point["samples"] for point in answer["points"]) == len(readings):
            return
        time.sleep(0.2)
    raise AssertionError("the rollup job did not catch up in 30 s")


def _readings(now_ms: int) -> list[dict[str, Any]]:
    """Every 10 minutes over the last day, hourly over the four weeks before: a power that
    moves, and a lifetime energy counter that grows with it."""
    times = sorted(
        {now_ms - step * 10 * MINUTE_MS for step in range(1, 144)}
        | {now_ms - step * HOUR_MS for step in range(24, 28 * 24)}
    )
    energy, readings = 10.0, []
    for index, ts in enumerate(times):
        power = 50.0 + (index * 37) % 400
        energy += 0.05
        readings.append(sample(ts, power=power, energy=round(energy, 3)))
    return readings


def _drawn(page: DashboardPage, area: str) -> list[list[float | None]]:
    """The columns uPlot drew in a chart area: times (s) then one column per series."""
    data: list[list[float | None]] = page.driver.execute_script(
        "return document.querySelector(arguments[0]).chart.data.map((c) => Array.from(c))", area
    )
    return data


def _painted(page: DashboardPage, area: str) -> int:
    """How many pixels of the chart's canvas hold paint (0 for a blank canvas)."""
    count: int = page.driver.execute_script(
        """
        const canvas = document.querySelector(arguments[0] + " canvas");
        const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted += 1;
        return painted;
        """,
        area,
    )
    return count


def _expected_history(api: LiveApi, token: str, device: str, page: DashboardPage) -> Any:
    """What the API answers for exactly the range the page asked for."""
    area = page.find("#history-chart")
    query = urlencode({
        "from": area.get_attribute("data-from"),
        "to": area.get_attribute("data-to"),
        "resolution": "auto",
    })  # fmt: skip
    reply = api.call("GET", f"/api/v1/devices/{device}/telemetry?{query}", token=token)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_history_for_a_day_and_a_month_draws_what_the_api_answers(
    dashboard_server: LiveServer, page: DashboardPage, tmp_path: Path
) -> None:
    api = LiveApi(dashboard_server.base_url)
    token = api.account("vic@example.com")
    home = api.ok("POST", "/api/v1/homes", {"name": "Workshop", "timezone": "UTC"}, token)["id"]
    paired = api.pair(token, home, "greennet-2c2c2c", {"name": "Saw"})
    device = paired["device"]["id"]
    newest = sample(int(time.time() * 1000) - 20_000, power=1234.5, relay="OFF")
    readings = [*_readings(int(time.time() * 1000) - 60_000), newest]
    _ingest(dashboard_server, paired, readings)
    _wait_for_rollups(api, token, device, readings)

    page.open(f"plugs/{device}")
    page.log_in("vic@example.com")
    page.wait_for_view("plug-title")
    page.wait.until(lambda _: page.find("#plug-power").text == "1,234.5 W")  # the newest reading
    assert page.find('.live-card [data-field="relay"]').text == "off"
    assert page.find('.live-card [data-field="status"]').text == "online"
    page.wait.until(lambda _: page.find("#history-chart").get_attribute("data-range") == "day")
    day = _expected_history(api, token, device, page)
    assert day["points"], day
    drawn = _drawn(page, "#history-chart")
    assert drawn[0] == [point["ts"] / 1000 for point in day["points"]]
    assert drawn[1] == [point["power"] for point in day["points"]]
    if day["resolution"] != "raw":  # the band: minimum and maximum of each bucket
        assert drawn[2] == [point["power_min"] for point in day["points"]]
        assert drawn[3] == [point["power_max"] for point in day["points"]]
    assert _painted(page, "#history-chart") > 500
    assert f"Resolution: {day['resolution']}" in page.find("#history-title ~ p[role=status]").text
    page.screenshot("history-day")
    page.driver.execute_script("document.querySelector('.live-card').scrollIntoView()")
    page.screenshot("plug-page-with-history")  # docs/dashboard-plug.png

    # keyboard: the range is a radio group, arrows move the choice (day → week → month)
    page.find("#history-range-day").send_keys(Keys.ARROW_RIGHT)
    page.wait.until(lambda _: page.find("#history-chart").get_attribute("data-range") == "week")
    page.press(Keys.ARROW_RIGHT)
    page.wait.until(lambda _: page.find("#history-chart").get_attribute("data-range") == "month")
    month = _expected_history(api, token, device, page)
    assert len(month["points"]) > len(day["points"])
    drawn = _drawn(page, "#history-chart")
    assert drawn[0] == [point["ts"] / 1000 for point in month["points"]]
    assert drawn[1] == [point["power"] for point in month["points"]]
    rows = page.driver.execute_script(
        "return document.querySelectorAll('#history-chart .data-table tbody tr').length"
    )
    assert rows == len(month["points"])  # the same data as a table, for screen readers
    assert not page.scrolls_sideways()
    page.screenshot("history-month")

    # the same range as CSV, downloaded with the page's session
    page.driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    page.find("#history-csv").click()
    saved = tmp_path / f"greennet-2c2c2c-{month['resolution']}.csv"
    page.wait.until(lambda _: saved.exists() and saved.stat().st_size > 0)
    area = page.find("#history-chart")
    query = urlencode({
        "from": area.get_attribute("data-from"),
        "to": area.get_attribute("data-to"),
        "resolution": month["resolution"],
    })  # fmt: skip
    exported = api.call("GET", f"/api/v1/devices/{device}/telemetry.csv?{query}", token=token)
    assert saved.read_bytes() == exported.content
    assert len(exported.content.splitlines()) == len(month["points"]) + 1  # a header line
    assert page.console_problems() == []


def test_energy_bars_show_each_day_and_month_with_the_cost(
    dashboard_server: LiveServer, page: DashboardPage
) -> None:
    api = LiveApi(dashboard_server.base_url)
    token = api.account("wes@example.com")
    home = api.ok("POST", "/api/v1/homes", {"name": "Barn", "timezone": "UTC"}, token)["id"]
    paired = api.pair(token, home, "greennet-3d3d3d", {"name": "Heater"})
    device = paired["device"]["id"]
    readings = _readings(int(time.time() * 1000))
    _ingest(dashboard_server, paired, readings)
    _wait_for_rollups(api, token, device, readings)

    page.open(f"homes/{home}")
    page.log_in("wes@example.com")
    page.wait_for_view("home-title")
    page.type_into("#home-price", "0.25")
    page.type_into("#home-currency", "EUR")
    page.find("#energy-settings-form button[type=submit]").click()
    page.wait.until(lambda _: "tariff saved" in page.find("#status").text)
    tariff = api.ok("GET", f"/api/v1/homes/{home}", token=token)["tariff"]
    assert tariff == {"price_per_kwh": 0.25, "currency": "EUR"}
    page.find("#reload").click()  # the home's own bars, now with the cost
    page.wait_for_view("home-title")
    page.wait.until(lambda _: "€" in page.find("#energy-total").text)
    home_days = api.ok("GET", f"/api/v1/homes/{home}/energy?period=day", token=token)
    assert _drawn(page, "#energy-chart")[1] == [day["energy_kwh"] for day in home_days["periods"]]
    assert f"{home_days['total_cost']:.2f}" in page.find("#energy-total").text

    page.go(f"plugs/{device}")
    page.wait_for_view("plug-title")
    page.wait.until(lambda _: page.find("#energy-chart").get_attribute("data-period") == "day")
    report = api.ok("GET", f"/api/v1/devices/{device}/energy?period=day", token=token)
    drawn = _drawn(page, "#energy-chart")
    assert drawn[1] == [period["energy_kwh"] for period in report["periods"]]
    assert sum(value or 0 for value in drawn[1]) > 0
    assert "€" in page.find("#energy-total").text or "EUR" in page.find("#energy-total").text
    assert _painted(page, "#energy-chart") > 100

    page.find("#energy-period-day").send_keys(Keys.ARROW_RIGHT)
    page.wait.until(lambda _: page.find("#energy-chart").get_attribute("data-period") == "month")
    months = api.ok("GET", f"/api/v1/devices/{device}/energy?period=month", token=token)
    assert _drawn(page, "#energy-chart")[1] == [p["energy_kwh"] for p in months["periods"]]
    cost = page.find("#energy-total").text
    assert cost.startswith("Total ")
    page.screenshot("energy-month")
    assert page.console_problems() == []
