"""The signed `curl` example in docs/backend.md, run exactly as written (bash, openssl,
curl) against the service: what a reader copies works."""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from .api import Api
from .conftest import FakeClock
from .telemetry import household, ms

DOCS = Path(__file__).parents[2] / "docs" / "backend.md"
MARKER = "<!-- signed-ingest-example -->"


def example() -> str:
    """The bash block right after the marker."""
    text = DOCS.read_text()
    found = re.search(re.escape(MARKER) + r"\n```bash\n(.*?)\n```", text, re.DOTALL)
    assert found, "the signed ingest example is missing from docs/backend.md"
    return found.group(1)


async def run_example(api: Api, device_id: str, secret: str) -> tuple[int, str, str]:
    """Run the documented block with its three variables set; (exit code, stdout, stderr)."""
    server = api.client.server
    env = {
        **os.environ,
        "GREENNET_URL": f"http://{server.host}:{server.port}",
        "DEVICE_ID": device_id,
        "SECRET": secret,
    }
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", example(), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_documented_signed_curl_request_is_accepted(api: Api, clock: FakeClock) -> None:
    home = await household(api, "docs@example.com")
    plug = home.plugs[0]
    clock.now = datetime.now(UTC)  # the example signs with the real clock
    code, out, err = await run_example(api, plug.id, plug.secret)
    assert code == 0, err
    assert json.loads(out) == {"stored": 1, "duplicates": 0, "rejected": 0, "errors": []}
    now = ms(clock.now)
    stored = await api.call(
        "GET",
        f"/api/v1/devices/{plug.id}/telemetry?resolution=raw&from={now - 60_000}&to={now + 60_000}",
        token=home.owner.access,
    )
    [sample] = stored.body["points"]
    assert (sample["power"], sample["energy"], sample["relay"]) == (41.5, 12.345, "ON")


async def test_the_documented_request_with_a_wrong_secret_is_refused(
    api: Api, clock: FakeClock
) -> None:
    home = await household(api, "docs2@example.com")
    clock.now = datetime.now(UTC)
    code, out, err = await run_example(api, home.plugs[0].id, "gnd_" + "0" * 64)
    assert code == 0, err
    assert json.loads(out)["error"] == "invalid_signature"


def test_the_readme_shows_the_same_example() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert example() in readme
