"""A deterministic impostor of Kwiff's real-time API, for tests, demos and offline work.

Run it alone with ``python -m kwiff_scrapy.simulator --port 8765``.
"""

from .config import Faults, SimulatorConfig
from .data import SimulatedData
from .server import KwiffSimulator

__all__ = ["Faults", "KwiffSimulator", "SimulatedData", "SimulatorConfig"]
