"""Scrapy plugin for Kwiff's real-time (Socket.IO / Engine.IO 3) API."""

from .addon import Addon
from .client import KwiffClient
from .http import KwiffRequest, KwiffResponse

__all__ = ["Addon", "KwiffClient", "KwiffRequest", "KwiffResponse"]
__version__ = "0.1.0"
