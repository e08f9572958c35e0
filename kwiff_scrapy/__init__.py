"""Scrapy plugin for Kwiff's real-time (Socket.IO / Engine.IO 3) API."""

from .addon import Addon
from .http import KwiffRequest, KwiffResponse

__all__ = ["Addon", "KwiffRequest", "KwiffResponse"]
__version__ = "0.1.0"
