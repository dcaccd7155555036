"""The user docs list every event type and every device trigger the code has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from custom_components.greennet import protocol as p
from custom_components.greennet.const import EVENT_TYPE_OFFLINE, EVENT_TYPE_ONLINE
from custom_components.greennet.device_trigger import EVENT_TRIGGERS

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION_DOC = ROOT / "docs" / "integration.md"
README = ROOT / "README.md"

# How the docs name each event trigger (what the automation editor shows, in short).
TRIGGER_WORDS = {
    "went_offline": "went offline",
    "came_online": "came online",
    "overload_tripped": "overload tripped",
    "sensor_fault": "sensor fault",
    "button_pressed": "button pressed",
}


def _flat(text: str) -> str:
    return " ".join(text.split()).lower()


def test_the_bus_event_docs_list_every_event_type() -> None:
    match = re.search(r'"type": "([^"]+)"', INTEGRATION_DOC.read_text())
    assert match is not None, "docs/integration.md shows no greennet_event example"
    listed = {part.strip() for part in match.group(1).split("|")}
    expected = {str(kind) for kind in p.EventType} | {EVENT_TYPE_ONLINE, EVENT_TYPE_OFFLINE}
    assert expected <= listed


@pytest.mark.parametrize(
    ("doc", "start", "end"),
    [
        (INTEGRATION_DOC, "- triggers:", "- conditions:"),
        (README, "**Device triggers**", "**Device conditions**"),
    ],
    ids=["integration.md", "README.md"],
)
def test_the_device_trigger_docs_name_every_event_trigger(doc: Path, start: str, end: str) -> None:
    assert set(TRIGGER_WORDS) == set(EVENT_TRIGGERS), "a trigger this test does not know"
    text = doc.read_text()
    section = _flat(text[text.index(start) : text.index(end)])
    missing = [word for word in TRIGGER_WORDS.values() if word not in section]
    assert not missing, f"{doc.name} does not name {missing}"
