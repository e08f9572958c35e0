"""How the simulated service behaves: :class:`SimulatorConfig` and its fault switches.

Plain data with its validation, no I/O: :meth:`SimulatorConfig.from_options` builds a
config from the flat names ``KWIFF_SIMULATOR_OPTIONS`` and ``KwiffClient(simulator_options=...)``
give, and :mod:`kwiff_scrapy.simulator.__main__` from the command line.
"""

from __future__ import annotations

import dataclasses
import datetime
import http
from collections.abc import Mapping
from typing import Any, Final

from .. import defaults

#: The kinds of :attr:`Faults.answer_faults`: never answered; answered with an ``error``;
#: answered with ``data`` that has neither ``events`` nor ``result``.
SILENT_ANSWER: Final = "silent"
ERROR_ANSWER: Final = "error"
MALFORMED_ANSWER: Final = "malformed"
ANSWER_FAULT_KINDS: Final = (SILENT_ANSWER, ERROR_ANSWER, MALFORMED_ANSWER)


@dataclasses.dataclass(frozen=True)
class Faults:
    """The fault switches: how the simulated service misbehaves. The defaults are no faults.

    :attr:`SimulatorConfig.faulty_connections` limits all of them to the first connections.
    """

    silent: bool = False
    """Accept commands but never answer them (what an untrusted session gets)."""
    drop_after: int | None = None
    """Abort the TCP connection (no close frame) when its Nth command arrives."""
    garbage_frame: bool = False
    """Send a malformed text frame right before each ack."""
    answer_pings: bool = True
    """``False`` answers no ping at all (commands are still answered)."""
    error_packet_after: int | None = None
    """At the Nth command send ``44"Not authorized"`` and answer nothing more (stay open)."""
    close_packet_after: int | None = None
    """At the Nth command send the Engine.IO close packet ``1``, then close with code 1000."""
    binary_frame: bool = False
    """Send a binary WebSocket frame (:data:`~.server.BINARY_FRAME`) right before each ack."""
    unknown_packet: bool = False
    """Send :data:`~.server.UNKNOWN_ENGINE_FRAME` and :data:`~.server.BINARY_EVENT_FRAME`
    right before each ack."""
    unknown_ack: bool = False
    """Right before each ack, send an ack for id :data:`~.server.UNKNOWN_ACK_OFFSET` ``+ id``."""
    duplicate_ack: bool = False
    """Send each ack twice."""
    stop_pongs_after: int | None = None
    """Answer only the first N pings of a connection (commands are still answered)."""
    refuse_status: int | None = None
    """Refuse every handshake with this HTTP status (e.g. 429 or 503)."""
    answer_faults: Mapping[int, str] = dataclasses.field(default_factory=dict, hash=False)
    """Command number (per connection, from 1, as ``drop_after`` counts) -> how its answer
    goes wrong: ``"silent"`` (never answered), ``"error"`` (answered
    ``{"timestamp": ..., "data": null, "error": {"code": "INTERNAL", ...}}``) or
    ``"malformed"`` (answered with ``data`` ``{"unexpected": true}``, neither ``events``
    nor ``result``). Keys may be digit strings (``{"2": "error"}``, as JSON options give
    them). A faulted answer shows no event, so it moves no clock (see
    :mod:`~kwiff_scrapy.simulator.moves`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "answer_faults", _answer_faults(self.answer_faults))
        for name in ("drop_after", "error_packet_after", "close_packet_after"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} counts commands from 1 (or is None), not {value}")
        if self.stop_pongs_after is not None and self.stop_pongs_after < 0:
            raise ValueError(
                f"stop_pongs_after must not be negative (or is None), not {self.stop_pongs_after}"
            )
        if self.refuse_status is not None:
            try:
                status = http.HTTPStatus(self.refuse_status)
            except ValueError:
                raise ValueError(
                    f"refuse_status must be a known HTTP status, not {self.refuse_status}"
                ) from None
            if not 400 <= status < 600:
                raise ValueError(
                    f"refuse_status must be an HTTP error status (4xx or 5xx), not {status}"
                )


def _answer_faults(value: Any) -> dict[int, str]:
    """``answer_faults`` as {command number: kind}, or a ValueError saying what is wrong."""
    if not isinstance(value, Mapping):
        raise ValueError(
            "answer_faults must map command numbers to "
            f"{', '.join(map(repr, ANSWER_FAULT_KINDS))}, not {type(value).__name__}"
        )
    faults = {}
    for key, kind in value.items():
        number = key
        if isinstance(key, str) and key.strip().isascii() and key.strip().isdigit():
            number = int(key)
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ValueError(f"answer_faults keys are command numbers counted from 1, not {key!r}")
        if kind not in ANSWER_FAULT_KINDS:
            raise ValueError(
                f"answer_faults[{number}] must be one of "
                f"{', '.join(map(repr, ANSWER_FAULT_KINDS))}, not {kind!r}"
            )
        faults[number] = kind
    return dict(sorted(faults.items()))


#: No fault at all: what connections past ``faulty_connections`` get.
NO_FAULTS: Final = Faults()


@dataclasses.dataclass(frozen=True)
class SimulatorConfig:
    """How the simulated service behaves. The defaults behave like the live service.

    The fault switches are in :attr:`faults` (a :class:`Faults`); everything else here
    applies to every connection. :meth:`from_options` builds a config from flat names.
    """

    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port; :attr:`~.server.KwiffSimulator.port` tells which."""
    seed: int = defaults.SIMULATOR_SEED
    football_events: int = defaults.SIMULATOR_FOOTBALL_EVENTS
    ping_interval_ms: int = 25000
    ping_timeout_ms: int = 60000
    enforce_heartbeat: bool = True
    """Close a connection that sends no ping within ``ping_interval + ping_timeout``."""
    response_delay: float = 0.0
    """Seconds to wait before each ack, on every connection.

    Not a fault: latency is part of how the service behaves (the live one takes time
    too), and tests use it to keep commands in flight while a fault (e.g. ``drop_after``)
    strikes on the first connection and to keep the same pace after the recovery, so
    ``faulty_connections`` does not limit it."""
    faults: Faults = NO_FAULTS
    """The fault switches; none by default."""
    faulty_connections: int | None = None
    """Apply :attr:`faults` (``refuse_status`` too) only to the first N connections.

    Connections are counted from 1 in the order their handshakes arrive, refused ones
    included; ``None`` applies the faults to every connection."""
    require_browser_headers: bool = True
    """Refuse with 403 a handshake without ``User-Agent`` or ``Cookie: uuid=<identifier>``."""
    event_before_connect: bool = True
    """Send the ``response`` EVENT before ``40`` (as seen live) or after it."""
    max_size: int | None = 16 * 2**20
    """Largest frame accepted from a client, in bytes; ``None`` for no limit."""
    moving: bool = False
    """``True``: the data moves (see :mod:`kwiff_scrapy.simulator.moves`, and
    :attr:`speed` for its clock): odds move, markets and outcomes suspend and resume,
    events go in play, end and appear. Without a :attr:`speed`, the first answer about
    each event is the data at rest either way, so a one-shot ``event:list`` crawl is the
    same. ``False`` (the default here, so that a simulator built in a test or a
    benchmark, or from options that do not ask for movement, gives the same command the
    same answer every time): every answer is the first one. The command line
    (``python -m kwiff_scrapy.simulator``) moves unless ``--still``."""
    speed: float | None = None
    """How the moving data's clock runs (see :mod:`kwiff_scrapy.simulator.moves`).

    ``None`` (the default here, what tests use): one step per serve of an event, so the
    data moves as fast as it is asked for, the same whatever the time. A number: a clock
    of one step per simulated minute, running ``speed`` times as fast as real time from
    midnight UTC of :attr:`today` on: kick-offs every 20 minutes, matches of about two
    hours, prices that drift over hours before kick-off. Two simulators with the same
    seed, day and speed show the same market at the same moment, so several workers
    each with their own agree. The command line's default is 1 (real time), the
    in-process ``KWIFF_ENDPOINT = "simulator"``'s is
    :data:`~kwiff_scrapy.defaults.SIMULATOR_IN_PROCESS_SPEED`."""
    scenarios: bool = False
    """``True`` (with :attr:`moving`, on the per-serve clock: :attr:`speed` None): four
    football events play scripted scenarios (a steady slide, a market steaming, a margin
    widening, a wave of suspensions) and every other event moves with quiet noise that
    fires no signal at the default thresholds (:mod:`kwiff_scrapy.simulator.scenarios`).
    ``False`` (the default): the random steps, byte for byte as before."""
    today: datetime.date | None = None
    """The day the start dates are upcoming from (see
    :class:`~kwiff_scrapy.simulator.data.SimulatedData`); ``None``: the current UTC date
    when the simulator is built. An ISO date string (``"2026-03-01"``) is accepted."""
    max_log_entries: int = defaults.SIMULATOR_MAX_LOG_ENTRIES
    """How many entries :meth:`~.server.KwiffSimulator.change_log` and
    :meth:`~.server.KwiffSimulator.serve_log` each keep: the latest (about 300 and 120
    bytes each, so some 400 MB at the default's worst, after hours of polling). 0 keeps
    none; ``--change-log`` files are not bounded by it."""

    def __post_init__(self) -> None:
        if isinstance(self.today, str):
            try:
                object.__setattr__(self, "today", datetime.date.fromisoformat(self.today))
            except ValueError:
                raise ValueError(
                    f"today must be a date (YYYY-MM-DD) or None, not {self.today!r}"
                ) from None
        if self.today is not None and (
            not isinstance(self.today, datetime.date) or isinstance(self.today, datetime.datetime)
        ):
            raise ValueError(f"today must be a date (YYYY-MM-DD) or None, not {self.today!r}")
        if not isinstance(self.moving, bool):
            raise ValueError(f"moving must be true or false, not {self.moving!r}")
        if self.speed is not None and (
            isinstance(self.speed, bool)
            or not isinstance(self.speed, int | float)
            or not 0 < self.speed < float("inf")
        ):
            raise ValueError(
                f"speed must be a positive number (times real time) or None, not {self.speed!r}"
            )
        if not isinstance(self.scenarios, bool):
            raise ValueError(f"scenarios must be true or false, not {self.scenarios!r}")
        if self.scenarios and (not self.moving or self.speed is not None):
            raise ValueError(
                "scenarios need moving data on the per-serve clock: "
                "moving=true and speed=null (None)"
            )
        if self.max_log_entries < 0:
            raise ValueError(f"max_log_entries must not be negative, not {self.max_log_entries}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, not {self.port}")
        if self.football_events < 0:
            raise ValueError(f"football_events must not be negative, not {self.football_events}")
        if self.ping_interval_ms <= 0 or self.ping_timeout_ms <= 0:
            raise ValueError("ping_interval_ms and ping_timeout_ms must be positive")
        if self.response_delay < 0:
            raise ValueError(f"response_delay must not be negative, not {self.response_delay}")
        if not isinstance(self.faults, Faults):
            raise TypeError(
                f"faults must be a Faults, not {type(self.faults).__name__} "
                "(SimulatorConfig.from_options takes the fault switches by name)"
            )
        if self.faulty_connections is not None and self.faulty_connections < 0:
            raise ValueError(
                "faulty_connections must not be negative (or is None), "
                f"not {self.faulty_connections}"
            )

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SimulatorConfig:
        """A config from flat option names, as ``KWIFF_SIMULATOR_OPTIONS`` and
        ``KwiffClient(simulator_options=...)`` give them.

        A name is a field of this class or a fault switch (a field of :class:`Faults`),
        e.g. ``{"response_delay": 0.2, "drop_after": 3, "faulty_connections": 1}``: the
        fault switches go into :attr:`faults`. They may instead be given together as
        ``"faults"``, a :class:`Faults` or a mapping of switch names, but not both ways
        at once. An unknown name raises :class:`ValueError` listing the valid ones.
        """
        nested = options.get("faults", {})
        if isinstance(nested, Faults):
            nested = dataclasses.asdict(nested)
        elif not isinstance(nested, Mapping):
            raise ValueError(
                f"simulator option 'faults' must be a mapping, not {type(nested).__name__}"
            )
        flat = {name: value for name, value in options.items() if name != "faults"}
        unknown = [repr(n) for n in flat if n not in OPTION_NAMES]
        unknown += [f"faults[{n!r}]" for n in nested if n not in FAULT_FIELDS]
        if unknown:
            raise ValueError(
                f"unknown simulator option{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)}; valid options: {', '.join(OPTION_NAMES)}"
            )
        switches = {name: value for name, value in flat.items() if name in FAULT_FIELDS}
        if switches and "faults" in options:
            raise ValueError(
                "give the fault switches by name or in 'faults', not both: "
                + ", ".join(map(repr, switches))
            )
        fields = {name: value for name, value in flat.items() if name not in FAULT_FIELDS}
        return cls(**fields, faults=Faults(**nested, **switches))

    def for_connection(self, number: int) -> SimulatorConfig:
        """The behaviour of connection *number* (from 1): faults off past ``faulty_connections``."""
        if self.faulty_connections is None or number <= self.faulty_connections:
            return self
        return dataclasses.replace(self, faults=NO_FAULTS)


#: The fault switches (the fields of :class:`Faults`), which ``faulty_connections`` limits.
FAULT_FIELDS: Final = frozenset(field.name for field in dataclasses.fields(Faults))
#: Every name :meth:`SimulatorConfig.from_options` accepts besides ``faults``, sorted.
OPTION_NAMES: Final = tuple(
    sorted(FAULT_FIELDS | {f.name for f in dataclasses.fields(SimulatorConfig)} - {"faults"})
)
