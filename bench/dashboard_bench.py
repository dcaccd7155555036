"""GreenNet Cloud web dashboard: first paint and time to a drawn homes list, in headless
Chromium on loopback, with 50 (and more) plugs.

Runs the real `greennet-cloud serve` (SQLite), seeds one account with homes and plugs over
the API, logs in once, then reloads the page N times (the session carries over in
sessionStorage, as for a user coming back) and reads the browser's own timings:
first contentful paint, and the `greennet:homes-rendered` mark the page sets once every plug
card is in the DOM (after its three API calls). The baseline, measured in the same run and
browser, is the login page of the same dashboard (same files, no API call).

    .venv-cloud/bin/python -m bench.dashboard_bench [--quick] [--plugs 50 200] [--write]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from bench.harness import git_rev, machine_info, record_results, summary
from tests.backend.conftest import DASHBOARD_ENV
from tests.backend.dashboard_page import DashboardPage, LiveApi, start_chromium
from tests.backend.live import LiveServer

TIMINGS = """
const paint = performance.getEntriesByName("first-contentful-paint")[0];
const homes = performance.getEntriesByName("greennet:homes-rendered")[0];
const navigation = performance.getEntriesByType("navigation")[0];
return {
  fcp: paint ? paint.startTime : null,
  homes: homes ? homes.startTime : null,
  dom: navigation ? navigation.domContentLoadedEventEnd : null,
  cards: document.querySelectorAll("#homes .plug").length,
};
"""


def seed(api: LiveApi, email: str, plugs: int) -> None:
    """One account, homes of 10 plugs each."""
    token = api.account(email)
    for first in range(0, plugs, 10):
        count = min(10, plugs - first)
        api.home(token, f"Home {first // 10 + 1}", {
            f"greennet-{index:06x}": {"name": f"Plug {index}", "model": "GN-1", "location": "Hall"}
            for index in range(first, first + count)
        })  # fmt: skip


def measure(
    page: DashboardPage, rounds: int, logged_in: bool, plugs: int
) -> dict[str, list[float]]:
    """Reload `rounds` times; FCP and (logged in) homes-rendered, ms after navigation start."""
    out: dict[str, list[float]] = {"fcp": [], "homes": [], "dom": []}
    for _ in range(rounds):
        page.driver.refresh()
        if logged_in:
            page.wait.until(lambda _: page.driver.execute_script(TIMINGS)["homes"] is not None)
        else:
            page.shown("#login-form")
            page.wait.until(lambda _: page.driver.execute_script(TIMINGS)["fcp"] is not None)
        timings = page.driver.execute_script(TIMINGS)
        if logged_in:
            assert timings["cards"] == plugs, timings
            out["homes"].append(timings["homes"])
        out["fcp"].append(timings["fcp"])
        out["dom"].append(timings["dom"])
    return out


def run(counts: list[int], rounds: int) -> list[dict[str, object]]:
    """Every plug count on a fresh server, one browser."""
    rows: list[dict[str, object]] = []
    driver = start_chromium()
    try:
        for plugs in counts:
            server = LiveServer(env=dict(DASHBOARD_ENV))
            server.start()
            try:
                api = LiveApi(server.base_url)
                email = f"bench{plugs}@example.com"
                seed(api, email, plugs)
                page = DashboardPage(driver, server.base_url)
                page.reset()
                page.open()
                page.shown("#login-form")
                page.driver.refresh()  # warm: files in the HTTP cache (revalidated: no-cache)
                baseline = measure(page, rounds, logged_in=False, plugs=plugs)
                page.log_in(email)
                page.wait_for_homes()
                dashboard = measure(page, rounds, logged_in=True, plugs=plugs)
                rows.append({"plugs": plugs, "baseline": baseline, "dashboard": dashboard})
            finally:
                server.cleanup()
    finally:
        driver.quit()
    return rows


def report(rows: list[dict[str, object]], rounds: int, quick: bool) -> str:
    """A RESULTS.md section."""
    flag = " --quick" if quick else ""
    counts = " ".join(str(row["plugs"]) for row in rows)
    lines = [
        f"### Web dashboard first paint ({date.today().isoformat()}, commit {git_rev()})",
        "",
        machine_info(),
        "",
        f"`.venv-cloud/bin/python -m bench.dashboard_bench{flag} --plugs {counts}` "
        f"({rounds} reloads each; headless Chromium, loopback, SQLite; "
        "other work shared the machine)",
        "",
        "| plugs | login page FCP p50 / max ms (baseline) | dashboard FCP p50 / max ms "
        "| homes drawn p50 / max ms | homes drawn / baseline FCP |",
        "| --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for row in rows:
        base = summary(row["baseline"]["fcp"])  # type: ignore[index]
        fcp = summary(row["dashboard"]["fcp"])  # type: ignore[index]
        homes = summary(row["dashboard"]["homes"])  # type: ignore[index]
        worst = max(row["dashboard"]["homes"])  # type: ignore[index]
        lines.append(
            f"| {row['plugs']} | {base['p50']:.0f} / {max(row['baseline']['fcp']):.0f} "  # type: ignore[index]
            f"| {fcp['p50']:.0f} / {max(row['dashboard']['fcp']):.0f} "  # type: ignore[index]
            f"| {homes['p50']:.0f} / {worst:.0f} | {homes['p50'] / base['p50']:.2f} |"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    """Parse arguments, run, print (and with --write record) the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 reloads instead of 20")
    parser.add_argument("--plugs", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--write", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    rounds = 5 if args.quick else 20
    started = time.monotonic()
    rows = run(args.plugs, rounds)
    record_results(report(rows, rounds, args.quick), args.write)
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
