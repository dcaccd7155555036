"""GreenNet Cloud: accounts, homes, devices and sharing for GreenNet plugs (aiohttp)."""

from .config import Config
from .web.app import create_app

__all__ = ["Config", "create_app"]
