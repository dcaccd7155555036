"""Ingest bodies are read by orjson, and by the standard library where orjson refuses:
whichever reads a body, every sample gets the verdict the standard library alone gives."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from greennet_cloud.errors import InvalidInput
from greennet_cloud.services.samples import decode_body, parse_samples

NOW = 1_796_083_200_000
GOOD = '{"ts": 1796083100000, "power": 12.5, "voltage": 230.0, "current": 0.05, "energy": 1.5, "relay": "ON"}'  # noqa: E501


def verdicts(items: list[Any]) -> list[tuple[int, str]]:
    good, errors = parse_samples(items, now_ms=NOW, oldest_ms=NOW - 86_400_000, with_device=False)
    return sorted([(item.index, "ok") for item in good] + [(e.index, e.code) for e in errors])


def standard_library(raw: bytes) -> list[Any]:
    body = json.loads(raw, parse_constant=lambda name: float(name.lower().lstrip("-")))
    samples: list[Any] = body["samples"]
    return samples


BODIES = {
    "plain": f'{{"samples": [{GOOD}]}}'.encode(),
    "NaN and Infinity literals": (
        f'{{"samples": [{GOOD}, {GOOD.replace("12.5", "NaN")},'
        f" {GOOD.replace('0.05', '-Infinity')}]}}"
    ).encode(),
    "byte order mark": b"\xef\xbb\xbf" + f'{{"samples": [{GOOD}]}}'.encode(),
    "integers past 64 bits": (
        f'{{"samples": [{GOOD.replace("1796083100000", "123456789012345678901234567890")},'
        f" {GOOD.replace('12.5', '99999999999999999999999')}]}}"
    ).encode(),
    "a lone surrogate": f'{{"samples": [{GOOD}], "note": "\\ud800"}}'.encode(),
    "a float past double range": f'{{"samples": [{GOOD.replace("230.0", "1e400")}]}}'.encode(),
    "nesting past 1024 levels": f'{{"samples": [{GOOD}, {"[" * 2000}{"]" * 2000}]}}'.encode(),
}


@pytest.mark.parametrize("case", BODIES)
def test_every_body_gets_the_standard_librarys_verdicts(case: str) -> None:
    raw = BODIES[case]
    assert verdicts(decode_body(raw)) == verdicts(standard_library(raw))


def test_non_finite_literals_are_refused_per_sample_not_per_request() -> None:
    items = decode_body(BODIES["NaN and Infinity literals"])
    assert math.isnan(items[1]["power"])
    assert verdicts(items) == [(0, "ok"), (1, "not_finite"), (2, "not_finite")]


@pytest.mark.parametrize("raw", [b"{not json", b"\xff", b'{"samples": [1,]}'])
def test_unreadable_bodies_are_invalid_json(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_body(raw)
    assert refused.value.code == "invalid_json"
