"""Password length limits, shared by the policy, the common-password list and the schema."""

from __future__ import annotations

from typing import Final

MIN_LENGTH: Final = 8
MAX_LENGTH: Final = 128
