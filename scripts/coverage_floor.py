"""Fail when any module of a package is below a line+branch coverage floor.

`coverage report --fail-under` judges only the total; Home Assistant's quality scale rule
`test-coverage` asks for every module. Reads `coverage json` output (stdin or a path):

    coverage json -q -o - --include='custom_components/greennet/*' | \
        python scripts/coverage_floor.py 95
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any


def below_floor(report: dict[str, Any], floor: float) -> dict[str, float]:
    """Each measured file under `floor` percent, with its percentage."""
    return {
        path: data["summary"]["percent_covered"]
        for path, data in sorted(report["files"].items())
        if data["summary"]["percent_covered"] < floor
    }


def main(argv: list[str]) -> int:
    """`coverage_floor.py FLOOR [REPORT.json]`: 0 when every module reaches FLOOR."""
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    floor = float(argv[1])
    text = Path(argv[2]).read_text() if len(argv) == 3 else sys.stdin.read()
    report = json.loads(text)
    if not report["files"]:
        print("coverage floor: no measured files (wrong --include?)", file=sys.stderr)
        return 1
    low = below_floor(report, floor)
    for path, percent in low.items():
        shown = math.floor(percent * 10) / 10  # 94.99 is not shown as a passing 95.0
        print(f"{path}: {shown:.1f} % line+branch coverage, below {floor:g} %")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
