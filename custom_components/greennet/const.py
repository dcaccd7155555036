"""Constants for the GreenNet integration."""

from typing import Final

DOMAIN: Final = "greennet"
