"""The simulated service's data in motion: deterministic, from a seed and what was served.

Used when :attr:`~kwiff_scrapy.simulator.config.SimulatorConfig.moving` is true (the
command line's default; ``moving=True`` in ``KWIFF_SIMULATOR_OPTIONS`` or a config).

**Two clocks.** With ``speed`` None (:class:`MovingData`'s and ``SimulatorConfig``'s
default, what tests use) the clock is the serves, as described below: the data moves as
fast as it is asked for. With a ``speed`` (the command line's and the in-process
endpoint's default) every step follows one clock instead: one step per simulated minute
(:data:`STEP_SECONDS`), counted from midnight UTC of the data's day
(:attr:`MovingData.origin_ms`), running ``speed`` times as fast as the data's clock. An
answer then shows each event at the step the clock is at (its list step, less the list
step at which it joined), and each sport's list at that step too; the steps are the same
as below, only their :class:`Schedule` differs (:data:`CLOCKED`: kick-offs every 20
minutes, matches of about two hours, trending one-tick moves, rare brief suspensions).
Since the state at a step is a pure function of the seed, the event and the step, every
simulator with the same seed, day and speed shows the same market at the same moment.
An event's ``startDate`` is then the time its clock reaches its kick-off.

On the per-serve clock the data at rest (:mod:`.data`) is what the *first* answer about
an event shows. From then on every event moves on its own clock, and each sport's list
on its own:

**Per-event clocks.** Each *serve* of an event (its entry in an ``event:list`` answer,
or an ``event:get`` answer) shows the event at its current step, then moves its clock
on by one. The first serve shows step 0, the data at rest, byte for byte, so the first
``event:list`` is what :meth:`SimulatedData.events <.data.SimulatedData.events>` gives.
Step ``k + 1`` is computed from step ``k`` with a :class:`random.Random` seeded from
(seed, event id, ``k + 1``): the state at any step is a pure function of the seed, the
event and the step, whichever commands brought it there. Only the latest state of each
event is kept. An event seen by ``event:list`` and by ``event:get`` is one state (the
markets the list shows are the same markets, at the same prices, as in the detail), so
a watch polling with ``details=1`` moves each event two steps per poll.

A step is computed when it is first served (the state between two serves is the last
one shown), so a change is logged by the answer that first shows it, with that step.

**What moves in a step** (per event; the chances are :data:`PRE_MATCH` and
:data:`IN_PLAY`):

- odds: a few outcomes move one or two steps along the price ladder
  (:data:`~.prices.LADDER`), and now and then one outcome jumps four to eight steps;
- a market suspends (``"status": "SUSPENDED"`` on the market) for
  :data:`SUSPENSION_STEPS` steps, then resumes (the key is absent again); an outcome
  alone suspends likewise (``"status"`` on the outcome). A suspended price does not
  move, a market with a suspended outcome does not suspend as a whole (and the
  reverse), and an outcome changes at most once per step: each change of an outcome's
  openness is one logged change;
- ``bettingStatus`` of an open event may turn ``"SUSPENDED"`` for a step or three;
  an event that started suspended reopens in time;
- each event goes in play (``"inPlay": true`` appears; before, the key is absent) at a
  step set by its place in the list: about :data:`NEW_EVENT_EVERY` steps per event
  ahead of it, so events go in play in kick-off order, and new ones join the end of
  the queue. It then stays in play for :data:`IN_PLAY_STEPS` steps, moving faster,
  and ends: it leaves the list and ``event:get`` answers ``{"result": null}``.

**List clocks.** Each sport has a list clock: the number of ``event:list`` answers
served for it (the country changes nothing). At list steps 2, 4, 6, ...
(:data:`NEW_EVENT_EVERY`) a new event appears: the next fixture drawn after the first
ones (:meth:`~.data.SimulatedData.later_fixtures`), with a fresh id that collides with
nothing, full markets and a later start, placed in kick-off order. It is unknown to
``event:get`` until it has appeared. One event joins every two list steps and, once
the first ones have played, about one ends as often, so the list keeps about its size.

**Logs.** :meth:`MovingData.change_log` is every change made, in order, as plain
dicts (:data:`CHANGE_FIELDS`); :meth:`MovingData.serve_log` which event each answer
showed at which step (:data:`SERVE_FIELDS`). Both keep the latest ``max_log_entries``
entries (their ``seq`` keeps counting, so a gap shows what was dropped). An entry costs
about 300 bytes (change) or 120 bytes (serve) while kept: at the default bound of a
million each, some 400 MB in all, reached after hours of polling (a 111-event list adds
111 serves and some 50 changes per answer).

Serving is fast: each market's JSON is kept while it does not change, and an answer
is the join of the events' cached JSON (the same bytes ``json`` would write). Data that
does not move is served the same way (``MovingData(data, still=True)``), its lists
joined once.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from .. import defaults
from ..protocol.socketio import compact_json
from .data import (
    InvalidPayload,
    SimulatedData,
    event_get_payload,
    event_list_payload,
    ticket_odds_payload,
)
from .fixtures import Fixture, fixture_order
from .prices import LADDER, Price
from .scenarios import NOISE_MOVES, Scenario, quiet_outcomes, scenario_at
from .scenarios import SPORT as SCENARIO_SPORT
from .views import SUSPENDED, event_header, market_view

#: A new event joins a sport's list at every this many list steps (2, 4, 6, ...); each
#: event goes in play about this many steps after the one before it in the list.
NEW_EVENT_EVERY: Final = 2
#: Up to this many steps later than its place in the queue, an event goes in play.
IN_PLAY_JITTER: Final = 3
#: How many steps an event stays in play before it ends (inclusive range).
IN_PLAY_STEPS: Final = (6, 16)
#: How many steps a market or outcome stays suspended (inclusive range).
SUSPENSION_STEPS: Final = (2, 5)
#: How many steps an open event's ``bettingStatus`` stays ``"SUSPENDED"``.
BETTING_SUSPENSION_STEPS: Final = (1, 3)
#: Chance per step that an event which started ``"SUSPENDED"`` reopens.
BETTING_REOPEN: Final = 0.2
#: How many outcomes move when the prices of an event move in a step (inclusive).
MOVES_PER_STEP: Final = (1, 3)
#: Ladder steps of a big jump (inclusive range).
JUMP_STEPS: Final = (4, 8)

# Change kinds.
MOVED: Final = "moved"
SUSPENDED_KIND: Final = "suspended"
RESUMED: Final = "resumed"
EVENT_NEW: Final = "event_new"
EVENT_REMOVED: Final = "event_removed"
EVENT_STATUS: Final = "event_status"
CHANGE_KINDS: Final = (MOVED, SUSPENDED_KIND, RESUMED, EVENT_NEW, EVENT_REMOVED, EVENT_STATUS)

EVENT_LIST: Final = "event:list"
EVENT_GET: Final = "event:get"
TICKET_ODDS: Final = "ticket:odds:get"

#: The keys of every :meth:`MovingData.change_log` entry, in order (always all present):
#:
#: - ``seq``: the entry's number in the log, from 0 (it keeps counting past the bound);
#: - ``answer``: the number (from 1) of the answer that first showed the change, as in
#:   the serve log; ``command``: that answer's command (``event:list`` / ``event:get``);
#: - ``sport_id``, ``event_id``; ``step``: the event's step that first shows the change
#:   (``event_new``: 0; ``event_removed``: the step at which the event is gone);
#: - ``kind``: ``moved``, ``suspended`` or ``resumed`` for a market or outcome;
#:   ``event_new`` (it appeared in a list), ``event_removed`` (it ended) or
#:   ``event_status`` (``bettingStatus`` or ``inPlay`` changed) for an event;
#: - ``listed``: whether the market is one ``event:list`` shows (null for events);
#: - ``market_id``, ``market_name``, ``outcome_id``, ``outcome_name``: null where the
#:   change is not about one (a market's own suspension has ``outcome_id`` null: every
#:   outcome of the market is then suspended or resumed with it);
#: - ``odds_before``/``odds_after``, ``fractional_before``/``fractional_after``: the
#:   outcome's price (``moved`` only: a suspended price does not move);
#: - ``status_before``/``status_after``: the outcome's own or the market's ``status``
#:   (null: open), or the event's ``bettingStatus`` for event kinds (null before an
#:   ``event_new``, after an ``event_removed``);
#: - ``in_play_before``/``in_play_after``: event kinds only, true or false (the answer
#:   sends ``"inPlay": true`` or no key), null before an ``event_new``, after an
#:   ``event_removed``;
#: - ``scenario``: the name of the scripted scenario that made the change
#:   (:mod:`~kwiff_scrapy.simulator.scenarios`), null for the random steps and the noise.
CHANGE_FIELDS: Final = (
    "seq",
    "answer",
    "command",
    "sport_id",
    "event_id",
    "step",
    "kind",
    "listed",
    "market_id",
    "market_name",
    "outcome_id",
    "outcome_name",
    "odds_before",
    "odds_after",
    "fractional_before",
    "fractional_after",
    "status_before",
    "status_after",
    "in_play_before",
    "in_play_after",
    "scenario",
)
#: The keys of every :meth:`MovingData.serve_log` entry: one per event an answer was
#: about. ``seq`` as in the change log; ``answer`` the answer's number (from 1; every
#: event of one ``event:list`` answer shares it); ``command``; ``sport_id`` (null for an
#: id no sport has); ``event_id``; ``step`` the step shown, or null when the answer had
#: no such event (``event:get`` of an unknown or ended id, or a list's event that ended
#: at this answer: its ``event_removed`` change has the same answer number); ``timestamp``
#: the answer's own ``timestamp`` (milliseconds: on a clock, the time whose step it shows),
#: which a client's records of the answer carry (a history's ``fetched_at``).
SERVE_FIELDS: Final = ("seq", "answer", "command", "sport_id", "event_id", "step", "timestamp")

ChangeListener = Callable[[list[dict[str, Any]]], None]
"""Called with the entries one answer added to a log, before the answer is sent."""


@dataclass(frozen=True, slots=True)
class Rates:
    """Chances per step of an event (each drawn once per step)."""

    moves: float
    """That some prices move (:data:`MOVES_PER_STEP` outcomes, 1 or 2 ladder steps each)."""
    jump: float
    """That one outcome jumps :data:`JUMP_STEPS` ladder steps."""
    market_suspension: float
    """That one market suspends."""
    outcome_suspension: float
    """That one outcome suspends on its own."""
    betting_suspension: float
    """That an open event's ``bettingStatus`` turns ``"SUSPENDED"``."""


#: The chances before an event is in play: with 111 football events, an ``event:list``
#: shows some 40 to 60 outcome changes per poll, and an event or two changing status.
PRE_MATCH: Final = Rates(
    moves=0.3, jump=0.03, market_suspension=0.03, outcome_suspension=0.04, betting_suspension=0.01
)
#: The chances once it is in play: everything moves more.
IN_PLAY: Final = Rates(
    moves=0.7, jump=0.12, market_suspension=0.1, outcome_suspension=0.06, betting_suspension=0.02
)


@dataclass(frozen=True, slots=True)
class Schedule:
    """How an event lives and moves, in steps: one per serve, or one per minute of a clock."""

    new_event_every: int
    """A new event joins a sport's list every this many list steps; each event goes in
    play about this many steps after the one before it in the list."""
    in_play_jitter: int
    """Up to this many steps later than its place in the queue, an event goes in play."""
    in_play_steps: tuple[int, int]
    """How many steps an event stays in play before it ends (inclusive range)."""
    suspension_steps: tuple[int, int]
    """How many steps a market or outcome stays suspended (inclusive range)."""
    betting_suspension_steps: tuple[int, int]
    """How many steps an open event's ``bettingStatus`` stays ``"SUSPENDED"``."""
    pre_match: Rates
    in_play: Rates
    trading_steps: int
    """Before this many steps ahead of going in play, nothing moves (the prices at rest)."""
    trending: bool
    """``False``: a move is one or two ladder steps either way (a jump four to eight).
    ``True``: an outcome moves one ladder step at a time in the direction of its trend,
    which holds for :data:`TREND_MOVES` of its moves and leans back towards the opening
    price (never more than :data:`MAX_DRIFT` ladder steps away from it); a jump (in
    play only) is two or three steps; most moves are on the listed markets, the main
    one above all (:data:`MAIN_MARKET_SHARE`, :data:`LISTED_SHARE`)."""


#: One step per serve of an event (``speed`` None): things happen quickly, so that a
#: test or a short watch sees every kind of change in a few polls.
PER_SERVE: Final = Schedule(
    new_event_every=NEW_EVENT_EVERY,
    in_play_jitter=IN_PLAY_JITTER,
    in_play_steps=IN_PLAY_STEPS,
    suspension_steps=SUSPENSION_STEPS,
    betting_suspension_steps=BETTING_SUSPENSION_STEPS,
    pre_match=PRE_MATCH,
    in_play=IN_PLAY,
    trading_steps=10**9,
    trending=False,
)
#: Simulated seconds per step on a clock (``speed`` set).
STEP_SECONDS: Final = 60
#: On a clock, an outcome's trend holds for this many of its moves (inclusive range).
TREND_MOVES: Final = (4, 10)
#: On a clock, the share of moves on the event's main market (its first listed one, e.g.
#: Full Time Result) and on any listed market (the main one included): they trade most.
MAIN_MARKET_SHARE: Final = 0.3
LISTED_SHARE: Final = 0.6
#: On a clock, one generator serves this many steps of an event in turn.
RNG_BLOCK: Final = 240
#: On a clock, an outcome stays within this many ladder steps of its opening price.
MAX_DRIFT: Final = 6
#: One step per simulated minute (``speed`` set): a kick-off every 20 minutes, a match
#: of some two hours; prices trade from eight hours before kick-off, a main-market price
#: moving a tick every half hour or so, then every few minutes in play; suspensions of a
#: few minutes, rare before kick-off.
CLOCKED: Final = Schedule(
    new_event_every=20,
    in_play_jitter=10,
    in_play_steps=(110, 125),
    suspension_steps=(1, 4),
    betting_suspension_steps=(1, 3),
    pre_match=Rates(
        moves=0.2,
        jump=0.0,
        market_suspension=0.001,
        outcome_suspension=0.001,
        betting_suspension=0.0003,
    ),
    in_play=Rates(
        moves=0.6,
        jump=0.01,
        market_suspension=0.01,
        outcome_suspension=0.005,
        betting_suspension=0.002,
    ),
    trading_steps=8 * 60,
    trending=True,
)

_LADDER_INDEX: Final = {price: index for index, price in enumerate(LADDER)}
#: The same by the ladder's own objects, which are most prices: no hash to work out.
_LADDER_INDEX_BY_ID: Final = {id(price): index for index, price in enumerate(LADDER)}


def _ladder_indexes(prices: list[Price]) -> list[int | None]:
    """Each price's place on the ladder (None: off it), as ``_LADDER_INDEX.get``."""
    by_id, by_value = _LADDER_INDEX_BY_ID, _LADDER_INDEX
    return [
        index if (index := by_id.get(id(price))) is not None else by_value.get(price)
        for price in prices
    ]


SCENARIOS_NEED_SERVES: Final = (
    "scenarios run on the per-serve clock: give speed None (null) with scenarios"
)

# A change before the world adds its answer and command (see CHANGE_FIELDS): sport_id,
# event_id, step, kind, listed, market_id, market_name, outcome_id, outcome_name,
# price_before, price_after, status_before, status_after, in_play_before, in_play_after,
# scenario.
_Change = tuple[
    int,
    int,
    int,
    str,
    bool | None,
    int | None,
    str | None,
    int | None,
    str | None,
    Price | None,
    Price | None,
    str | None,
    str | None,
    bool | None,
    bool | None,
    str | None,
]


def life_of(
    seed: int, event_id: int, position: int, schedule: Schedule = PER_SERVE
) -> tuple[int, int]:
    """The steps at which an event goes in play and ends, from its *position* in the queue
    (its index in the first list; :attr:`~.data.SimulatedData.count` for a new event)."""
    rng = random.Random(f"{seed}:life:{event_id}")
    in_play_at = 1 + schedule.new_event_every * position + rng.randint(0, schedule.in_play_jitter)
    return in_play_at, in_play_at + rng.randint(*schedule.in_play_steps)


class EventState:
    """One event at its latest step: prices, suspensions, statuses, and cached JSON.

    ``step`` is the step this state is at: the last one shown (0 before any serve);
    ``served`` how many serves showed it. Markets and outcomes are numbered as in the
    fixture; outcomes also by a flat index (every outcome of every market, in order).
    """

    __slots__ = (
        "_block",
        "_detail",
        "_detail_markets",
        "_header",
        "_list",
        "_list_markets",
        "_naming",
        "_quiet",
        "_trends",
        "betting_resume",
        "betting_status",
        "ended",
        "ends_at",
        "fixture",
        "in_play",
        "in_play_at",
        "joined",
        "listed",
        "market_of",
        "market_resume",
        "opening",
        "outcome_resume",
        "prices",
        "scenario",
        "schedule",
        "served",
        "spans",
        "step",
    )

    def __init__(
        self,
        fixture: Fixture,
        in_play_at: int,
        ends_at: int,
        *,
        schedule: Schedule = PER_SERVE,
        joined: int = 0,
        scenario: Scenario | None = None,
        quiet: bool = False,
    ) -> None:
        self.fixture = fixture
        self.scenario = scenario
        """The scripted scenario this event plays instead of random steps, if any."""
        self._naming: str | None = None
        """The scenario named by the changes being made."""
        self.schedule = schedule
        self.joined = joined
        """The list step at which the event joined its list (0: the first list)."""
        self.step = 0
        self.served = 0
        self.in_play_at = in_play_at
        self.ends_at = ends_at
        self.ended = False
        self.in_play = False
        self.betting_status = fixture.betting_status
        self.betting_resume: int | None = None
        """The step at which a ``bettingStatus`` suspended by the simulator reopens."""
        self.prices: list[Price] = []
        self.spans: list[range] = []
        self.market_of: list[int] = []
        for index, market in enumerate(fixture.markets):
            first = len(self.prices)
            self.prices += [outcome.price for outcome in market.outcomes]
            self.spans.append(range(first, len(self.prices)))
            self.market_of += [index] * len(market.outcomes)
        self.listed = [i for i, market in enumerate(fixture.markets) if market.listed]
        self.opening = _ladder_indexes(self.prices)
        self._quiet: list[int] | None = None
        """With *quiet*: the outcomes (flat) that quiet noise moves instead of random steps."""
        if quiet and scenario is None:
            markets = [(m.name, self.prices[span.start : span.stop])
                       for m, span in zip(fixture.markets, self.spans, strict=True)]  # fmt: skip
            self._quiet = [self.spans[m][o] for m, o in quiet_outcomes(markets)]
        self._trends: dict[int, tuple[int, int]] = {}
        """Outcome (flat) -> (direction, moves left) of its trend on a clock."""
        self._block: tuple[int, random.Random] | None = None
        self.market_resume: dict[int, int] = {}
        """Suspended markets: index -> the step at which it resumes."""
        self.outcome_resume: dict[int, int] = {}
        """Suspended outcomes (flat index) -> the step at which it resumes."""
        self._header: str | None = None
        self._list: str | None = None
        self._detail: str | None = None
        self._list_markets: list[str | None] = [None] * len(fixture.markets)
        self._detail_markets: list[str | None] = [None] * len(fixture.markets)

    # -- views -----------------------------------------------------------------------------

    def list_json(self) -> str:
        """The event as an ``event:list`` entry, JSON (cached until the event changes)."""
        if self._list is None:
            offers = ",".join(self._market_json(i, detail=False) for i in self.listed)
            self._list = f'{self._header_json()[:-1]},"details":{{"offers":[{offers}]}}}}'
        return self._list

    def detail_json(self) -> str:
        """The event as an ``event:get`` result, JSON (cached until the event changes)."""
        if self._detail is None:
            markets = ",".join(
                self._market_json(i, detail=True) for i in range(len(self.fixture.markets))
            )
            self._detail = f'{self._header_json()[:-1]},"markets":[{markets}]}}'
        return self._detail

    def _header_json(self) -> str:
        if self._header is None:
            self._header = compact_json(
                event_header(self.fixture, betting_status=self.betting_status, in_play=self.in_play)
            )
        return self._header

    def _market_json(self, index: int, *, detail: bool) -> str:
        cache = self._detail_markets if detail else self._list_markets
        text = cache[index]
        if text is None:
            span = self.spans[index]
            statuses = None
            if self.outcome_resume:
                statuses = [SUSPENDED if k in self.outcome_resume else None for k in span]
            text = cache[index] = compact_json(
                market_view(
                    self.fixture.markets[index],
                    self.prices[span.start : span.stop],
                    detail=detail,
                    status=SUSPENDED if index in self.market_resume else None,
                    outcome_statuses=statuses,
                )
            )
        return text

    def _market_changed(self, index: int) -> None:
        self._list_markets[index] = self._detail_markets[index] = None
        self._list = self._detail = None

    def _header_changed(self) -> None:
        self._header = self._list = self._detail = None

    # -- the current prices ----------------------------------------------------------------

    def price_of(self, outcome_id: int) -> tuple[int, int, Price] | None:
        """(event id, market id, price) of an open outcome of this event, else None."""
        market_number, outcome_number = divmod(outcome_id - self.fixture.id * 10_000, 100)
        index = market_number - 1
        if not 0 <= index < len(self.spans) or index in self.market_resume:
            return None
        span = self.spans[index]
        if not 1 <= outcome_number <= len(span):
            return None
        flat = span[outcome_number - 1]
        if flat in self.outcome_resume:
            return None
        return self.fixture.id, self.fixture.markets[index].id, self.prices[flat]

    # -- one step ----------------------------------------------------------------------------

    def advance(self, seed: int) -> list[_Change]:
        """Move to the next step; return its changes, in the order they were made."""
        step = self.step = self.step + 1
        changes: list[_Change] = []
        schedule = self.schedule
        if step < self.ends_at and step < self.in_play_at - schedule.trading_steps:
            return changes  # not trading yet: the prices at rest
        rng = self._rng(seed, step)
        if step >= self.ends_at:
            self.ended = True
            changes.append(self._event_change(EVENT_REMOVED, self.betting_status, None, None))
            return changes
        touched: set[int] = set()  # outcomes (flat) that changed in this step
        scenario = self.scenario
        self._naming = scenario.name if scenario is not None else None
        self._resume_due(step, changes, touched)
        self._event_status(step, rng, changes)
        if scenario is not None:
            self._play(scenario, step, changes, touched)
            return changes
        if self._quiet is not None:
            self._noise(rng, changes, touched)
            return changes
        rates = schedule.in_play if self.in_play else schedule.pre_match
        if rng.random() < rates.market_suspension:
            self._suspend_market(rng.randrange(len(self.spans)), step, rng, changes, touched)
        if rng.random() < rates.outcome_suspension:
            self._suspend_outcome(rng.randrange(len(self.prices)), step, rng, changes, touched)
        if schedule.trending:
            self._trend_moves(rng, rates, changes, touched)
        elif rng.random() < rates.moves:
            for _ in range(rng.randint(*MOVES_PER_STEP)):
                flat = rng.randrange(len(self.prices))
                ladder_steps = rng.choice((1, 1, 1, 2)) * rng.choice((-1, 1))
                self._move(flat, ladder_steps, changes, touched)
        if not schedule.trending and rng.random() < rates.jump:
            flat = rng.randrange(len(self.prices))
            self._move(flat, rng.randint(*JUMP_STEPS) * rng.choice((-1, 1)), changes, touched)
        return changes

    def _play(
        self, scenario: Scenario, step: int, changes: list[_Change], touched: set[int]
    ) -> None:
        """The scripted changes of *scenario* at *step* (see :mod:`.scenarios`)."""
        for index, steps in scenario.suspend.get(step, ()):
            span = self.spans[index]
            if index in self.market_resume or any(k in self.outcome_resume for k in span):
                continue
            self.market_resume[index] = step + steps
            self._market_changed(index)
            touched.update(span)
            changes.append(self._change(SUSPENDED_KIND, index, None, status=(None, SUSPENDED)))
        for index, outcome, ladder_steps in scenario.moves.get(step, ()):
            flat = self.spans[index].start + outcome
            self._move(flat, ladder_steps, changes, touched, bounce=False)

    def _noise(self, rng: random.Random, changes: list[_Change], touched: set[int]) -> None:
        """Quiet noise (see :mod:`.scenarios`): maybe one outcome one ladder step away
        from its opening price, or back to it."""
        assert self._quiet is not None
        if not self._quiet or rng.random() >= NOISE_MOVES:
            return
        flat = rng.choice(self._quiet)
        opening, now = self.opening[flat], _LADDER_INDEX.get(self.prices[flat])
        if opening is None or now is None:
            return
        ladder_steps = rng.choice((-1, 1)) if now == opening else opening - now
        self._move(flat, ladder_steps, changes, touched, bounce=False)

    def _rng(self, seed: int, step: int) -> random.Random:
        """The draws of *step*: a generator seeded for the step, or on a clock one per
        :data:`RNG_BLOCK` steps whose draws the steps take in turn (every step of the
        event is computed in order, so each step still gets the same draws)."""
        if not self.schedule.trending:
            return random.Random(f"{seed}:moves:{self.fixture.id}:{step}")
        block = step // RNG_BLOCK
        if self._block is None or self._block[0] != block:
            self._block = (block, random.Random(f"{seed}:clock:{self.fixture.id}:{block}"))
        return self._block[1]

    def _trend_moves(
        self,
        rng: random.Random,
        rates: Rates,
        changes: list[_Change],
        touched: set[int],
    ) -> None:
        """The moves of a step on a clock (see :attr:`Schedule.trending`)."""
        moves = 0
        while moves < MOVES_PER_STEP[1] and rng.random() < rates.moves:
            moves += 1
            draw = rng.random()
            if self.listed and draw < MAIN_MARKET_SHARE:
                flat = rng.choice(self.spans[self.listed[0]])
            elif self.listed and draw < LISTED_SHARE:
                flat = rng.choice(self.spans[rng.choice(self.listed)])
            else:
                flat = rng.randrange(len(self.prices))
            direction = self._trend(flat, rng)
            size = rng.randint(2, 3) if rng.random() < rates.jump else 1
            self._move(flat, direction * size, changes, touched, bounce=False)

    def _trend(self, flat: int, rng: random.Random) -> int:
        """+1 (drifting out), -1 (shortening) or 0 (as far from the opening price as it
        goes): the direction of the outcome's next move. A trend is drawn for a run of
        :data:`TREND_MOVES` moves, leaning back towards the opening price the further the
        price is from it; reaching :data:`MAX_DRIFT` ends the run."""
        opening, now = self.opening[flat], _LADDER_INDEX.get(self.prices[flat])
        drift = 0 if opening is None or now is None else now - opening
        direction, left = self._trends.get(flat, (0, 0))
        if left <= 0 or abs(drift + direction) > MAX_DRIFT:
            direction = 1 if rng.random() < 0.5 - 0.45 * drift / MAX_DRIFT else -1
            left = rng.randint(*TREND_MOVES)
        if abs(drift + direction) > MAX_DRIFT:
            self._trends[flat] = (direction, 0)
            return 0
        self._trends[flat] = (direction, left - 1)
        return direction

    def _resume_due(self, step: int, changes: list[_Change], touched: set[int]) -> None:
        for index in [i for i, until in self.market_resume.items() if until <= step]:
            del self.market_resume[index]
            self._market_changed(index)
            touched.update(self.spans[index])
            changes.append(self._change(RESUMED, index, None, status=(SUSPENDED, None)))
        for flat in [k for k, until in self.outcome_resume.items() if until <= step]:
            del self.outcome_resume[flat]
            self._market_changed(self.market_of[flat])
            touched.add(flat)
            changes.append(
                self._change(RESUMED, self.market_of[flat], flat, status=(SUSPENDED, None))
            )

    def _event_status(self, step: int, rng: random.Random, changes: list[_Change]) -> None:
        before = (self.betting_status, self.in_play)
        if step == self.in_play_at:
            self.in_play = True
        rates = self.schedule.in_play if self.in_play else self.schedule.pre_match
        draw = rng.random()
        if self.betting_resume is not None:
            if step >= self.betting_resume:
                self.betting_status, self.betting_resume = "OPEN", None
        elif self.betting_status == "OPEN":
            if draw < rates.betting_suspension:
                self.betting_status = SUSPENDED
                self.betting_resume = step + rng.randint(*self.schedule.betting_suspension_steps)
        elif draw < BETTING_REOPEN:  # suspended from the start: reopens in time
            self.betting_status = "OPEN"
        if (self.betting_status, self.in_play) != before:
            self._header_changed()
            changes.append(
                self._event_change(
                    EVENT_STATUS, before[0], self.betting_status, (before[1], self.in_play)
                )
            )

    def _suspend_market(
        self,
        index: int,
        step: int,
        rng: random.Random,
        changes: list[_Change],
        touched: set[int],
    ) -> None:
        until = step + rng.randint(*self.schedule.suspension_steps)
        span = self.spans[index]
        if index in self.market_resume or any(
            k in touched or k in self.outcome_resume for k in span
        ):
            return
        self.market_resume[index] = until
        self._market_changed(index)
        touched.update(span)
        changes.append(self._change(SUSPENDED_KIND, index, None, status=(None, SUSPENDED)))

    def _suspend_outcome(
        self,
        flat: int,
        step: int,
        rng: random.Random,
        changes: list[_Change],
        touched: set[int],
    ) -> None:
        until = step + rng.randint(*self.schedule.suspension_steps)
        index = self.market_of[flat]
        if flat in touched or flat in self.outcome_resume or index in self.market_resume:
            return
        self.outcome_resume[flat] = until
        self._market_changed(index)
        touched.add(flat)
        changes.append(self._change(SUSPENDED_KIND, index, flat, status=(None, SUSPENDED)))

    def _move(
        self,
        flat: int,
        ladder_steps: int,
        changes: list[_Change],
        touched: set[int],
        *,
        bounce: bool = True,
    ) -> None:
        """Move an open, untouched outcome along the ladder (turning back at either end,
        or, without *bounce*, staying there)."""
        index = self.market_of[flat]
        before = self.prices[flat]
        position = _LADDER_INDEX.get(before)
        if (
            position is None  # beyond the ladder (a long shot priced N/1): it stays
            or not ladder_steps
            or flat in touched
            or flat in self.outcome_resume
            or index in self.market_resume
        ):
            return
        target = position + ladder_steps
        if not 0 <= target < len(LADDER):
            if not bounce:
                return
            target = position - ladder_steps
            if not 0 <= target < len(LADDER):
                return
        after = self.prices[flat] = LADDER[target]
        self._market_changed(index)
        touched.add(flat)
        changes.append(self._change(MOVED, index, flat, prices=(before, after)))

    # -- change records ----------------------------------------------------------------------

    def _change(
        self,
        kind: str,
        index: int,
        flat: int | None,
        *,
        prices: tuple[Price | None, Price | None] = (None, None),
        status: tuple[str | None, str | None] = (None, None),
    ) -> _Change:
        market = self.fixture.markets[index]
        outcome = None
        if flat is not None:
            outcome = market.outcomes[flat - self.spans[index].start]
        return (
            self.fixture.sport,
            self.fixture.id,
            self.step,
            kind,
            market.listed,
            market.id,
            market.name,
            None if outcome is None else outcome.id,
            None if outcome is None else outcome.label,
            *prices,
            *status,
            None,
            None,
            self._naming,
        )

    def _event_change(
        self,
        kind: str,
        status_before: str | None,
        status_after: str | None,
        in_play: tuple[bool | None, bool | None] | None,
    ) -> _Change:
        if in_play is None:
            in_play = (self.in_play, None) if kind == EVENT_REMOVED else (None, self.in_play)
        fixture = self.fixture
        return (
            fixture.sport,
            fixture.id,
            self.step,
            kind,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            status_before,
            status_after,
            *in_play,
            None,
        )

    def appeared(self) -> _Change:
        """The ``event_new`` change of an event that joins a list (at step 0)."""
        return self._event_change(EVENT_NEW, None, self.betting_status, None)


class _SportList:
    """One sport's list: its clock, its events in kick-off order, the events to come."""

    __slots__ = ("count", "order", "steps", "upcoming")

    def __init__(
        self,
        count: int,
        order: list[tuple[Any, int]],
        upcoming: Iterator[tuple[int, Callable[[], Fixture]]],
    ):
        self.count = count
        self.order = order
        """(kick-off order key, event id) of every listed event, sorted."""
        self.steps = 0
        """How many ``event:list`` answers this sport has served."""
        self.upcoming = upcoming


class _Log:
    """A bounded log: the latest *limit* records, numbered from 0 (``seq``) for good."""

    __slots__ = ("_entry", "_records", "total")

    def __init__(self, limit: int, entry: Callable[[int, tuple[Any, ...]], dict[str, Any]]):
        self._records: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=limit)
        self._entry = entry
        self.total = 0

    def add(self, record: tuple[Any, ...]) -> dict[str, Any]:
        """Keep *record* (dropping the oldest past the bound); return it as an entry."""
        self._records.append(record)
        self.total += 1
        return self._entry(self.total - 1, record)

    def entries(self, since: int) -> list[dict[str, Any]]:
        """The entries kept whose ``seq`` is *since* or more, in order."""
        first = self.total - len(self._records)
        skip = max(since - first, 0)
        records = itertools.islice(self._records, skip, None)
        return [self._entry(first + skip + n, record) for n, record in enumerate(records)]


class MovingData:
    """Answers ``event:list``, ``event:get`` and ``ticket:odds:get`` from data that moves.

    Built on a :class:`~.data.SimulatedData` (its seed, counts, dates and clock); other
    commands and malformed payloads are answered by it, as when the data is still.
    :meth:`answer` returns the answer's JSON text. Nothing is built before the first
    answer that needs it.
    """

    def __init__(
        self,
        data: SimulatedData,
        *,
        max_log_entries: int = defaults.SIMULATOR_MAX_LOG_ENTRIES,
        still: bool = False,
        speed: float | None = None,
        scenarios: bool = False,
    ) -> None:
        if max_log_entries < 0:
            raise ValueError(f"max_log_entries must not be negative, not {max_log_entries}")
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be positive (or None), not {speed}")
        if scenarios and speed is not None:
            raise ValueError(SCENARIOS_NEED_SERVES)
        self.scenarios = scenarios
        """Scripted scenarios on some events, quiet noise on the others (:mod:`.scenarios`)."""
        self.data = data
        self._stamp = 0
        """The timestamp of the answer being made: read once per answer, so that its
        ``timestamp``, its serve-log entries and (on a clock) the step it shows agree."""
        self.speed = speed
        """None: one step per serve of an event. A number: the steps follow the
        simulator's clock, :attr:`STEP_SECONDS` simulated seconds each, which runs this
        many times as fast as *data*'s clock from :attr:`origin_ms` on."""
        self.schedule = PER_SERVE if speed is None else CLOCKED
        self.origin_ms = int(
            datetime.datetime.combine(data.today, datetime.time(), datetime.UTC).timestamp() * 1000
        )
        """Midnight UTC of *data*'s day: step 0 of the clock (the first list's events
        join at it), the same for every simulator started that day."""
        self._wall_clock = data.clock
        if speed is not None:
            # Every answer (and the simulator's own stamps) tells the simulated time.
            data.clock = self.clock_ms
        self.still = still
        """Nothing moves: every answer is the first one (the data at rest, from cached
        JSON), nothing is logged, and ``ticket:odds:get`` is *data*'s own answer."""
        self._still_lists: dict[int, str] = {}
        self._lists: dict[int, _SportList] | None = None
        self._states: dict[int, EventState] = {}
        """Every live event (listed, or not yet ended): id -> its latest state."""
        self._changes = _Log(max_log_entries, _change_entry)
        self._serves = _Log(max_log_entries, _serve_entry)
        self.answers = 0
        """How many answers this data has given about events (list, get)."""
        self.change_listeners: list[ChangeListener] = []
        """Called with the changes of each answer (as :meth:`change_log` entries)."""
        self.serve_listeners: list[ChangeListener] = []
        """Called with the serves of each answer (as :meth:`serve_log` entries)."""

    # -- the logs ----------------------------------------------------------------------------

    def change_log(self, since: int = 0) -> list[dict[str, Any]]:
        """Every change kept (the latest ``max_log_entries``), from ``seq`` *since* on."""
        return self._changes.entries(since)

    def serve_log(self, since: int = 0) -> list[dict[str, Any]]:
        """Which event each answer showed at which step, from ``seq`` *since* on."""
        return self._serves.entries(since)

    @property
    def changes_made(self) -> int:
        """How many changes were ever logged (kept or dropped by the bound)."""
        return self._changes.total

    # -- the clock ---------------------------------------------------------------------------

    def clock_ms(self) -> int:
        """The simulated time, in milliseconds since the epoch (``speed`` set): from
        :attr:`origin_ms` on, ``speed`` times as fast as the clock *data* was built with.
        On a clock, *data*'s ``clock`` is this, so answers are stamped with it."""
        if self.speed is None:
            raise ValueError("this data moves one step per serve: it has no clock")
        return self.origin_ms + int((self._wall_clock() - self.origin_ms) * self.speed)

    def clock_step(self) -> int:
        """The step the simulator's clock is at (``speed`` set): whole :data:`STEP_SECONDS`
        of simulated time since :attr:`origin_ms`."""
        return self._step_at(self.clock_ms())

    def _step_at(self, clock_ms: int) -> int:
        return max((clock_ms - self.origin_ms) // (STEP_SECONDS * 1000), 0)

    def step_time(self, step: int) -> datetime.datetime:
        """The simulated time (UTC) at which the clock reaches *step*."""
        return datetime.datetime.fromtimestamp(self.origin_ms / 1000, datetime.UTC) + (
            datetime.timedelta(seconds=STEP_SECONDS * step)
        )

    # -- answers -----------------------------------------------------------------------------

    def answer(self, message: Any, payload: Any) -> str:
        """The JSON text of the answer to a command (never raises for bad input)."""
        try:
            if message == EVENT_LIST:
                sport_id, _country = event_list_payload(payload)
                self._stamp = self.data.clock()
                return self._answered(self._list_answer(sport_id))
            if message == EVENT_GET:
                event_id = event_get_payload(payload)
                self._stamp = self.data.clock()
                return self._answered(self._get_answer(event_id))
            if message == TICKET_ODDS and not self.still:
                groups = self.data.price_groups(ticket_odds_payload(payload), self.price_of)
                return compact_json(
                    {"timestamp": self.data.clock(), "data": {"betBuilderOutcomeGroups": groups}}
                )
        except InvalidPayload as exc:
            return compact_json(self.data.error_answer("INVALID_PAYLOAD", f"{message}: {exc}"))
        return compact_json(self.data.answer(message, payload))

    def _answered(self, data_json: str) -> str:
        return f'{{"timestamp":{compact_json(self._stamp)},"data":{data_json}}}'

    def _list_answer(self, sport_id: int) -> str:
        if self.still:
            text = self._still_lists.get(sport_id)
            if text is None:
                states = self._states
                listed = self._sports().get(sport_id)
                texts = [] if listed is None else [states[i].list_json() for _, i in listed.order]
                text = self._still_lists[sport_id] = f'{{"events":[{",".join(texts)}]}}'
            return text
        number = self._next_answer()
        changes: list[dict[str, Any]] = []
        serves: list[dict[str, Any]] = []
        now = self._catch_up(number, changes)
        listed = self._sports().get(sport_id)
        texts = []
        if listed is not None:
            if now is None and listed.steps and listed.steps % NEW_EVENT_EVERY == 0:
                self._add_event(listed, number, changes, listed.steps)
            for _, event_id in list(listed.order):  # an event that ends leaves the order
                state = self._states[event_id]
                if self._serve(state, number, EVENT_LIST, changes, serves, now):
                    texts.append(state.list_json())
            if now is None:
                listed.steps += 1
        self._notify(changes, serves)
        return f'{{"events":[{",".join(texts)}]}}'

    def _get_answer(self, event_id: int) -> str:
        if self.still:
            self._sports()
            state = self._states.get(event_id)
            return f'{{"result":{"null" if state is None else state.detail_json()}}}'
        number = self._next_answer()
        changes: list[dict[str, Any]] = []
        serves: list[dict[str, Any]] = []
        now = self._catch_up(number, changes)
        state = self._states.get(event_id)
        text = "null"
        if state is None:
            serves.append(self._record_serve((number, EVENT_GET, None, event_id, None)))
        elif self._serve(state, number, EVENT_GET, changes, serves, now):
            text = state.detail_json()
        self._notify(changes, serves)
        return f'{{"result":{text}}}'

    def price_of(self, outcome_id: int) -> tuple[int, int, Price] | None:
        """A bet-builder leg at its event's latest step shown: None if the outcome is
        unknown, suspended (or its market is), or its event has ended."""
        self._sports()
        state = self._states.get(outcome_id // 10_000)
        return None if state is None else state.price_of(outcome_id)

    # -- serving -----------------------------------------------------------------------------

    def _serve(
        self,
        state: EventState,
        number: int,
        command: str,
        changes: list[dict[str, Any]],
        serves: list[dict[str, Any]],
        now: int | None,
    ) -> bool:
        """Show *state* at its next step (one per serve; on a clock, the step the clock
        is at: *now*), computing it, then count the serve; False if the event ended at
        that step (it is then forgotten).

        On a clock, an event's first serve shows it as it stands (the steps before are
        computed, not logged), and one that ended before it was ever served is
        forgotten without a trace."""
        fixture = state.fixture
        target = state.step + (state.served > state.step) if now is None else now - state.joined
        seed = self.data.seed
        while state.step < target and not state.ended:
            for change in state.advance(seed):
                if now is None or state.served:
                    changes.append(self._record_change(number, command, change))
        if state.ended:  # gone from the list and from event:get, for good
            del self._states[fixture.id]
            self._sports()[fixture.sport].order.remove((fixture_order(fixture), fixture.id))
            if now is None or state.served:
                serves.append(
                    self._record_serve((number, command, fixture.sport, fixture.id, None))
                )
            return False
        state.served += 1
        serves.append(self._record_serve((number, command, fixture.sport, fixture.id, state.step)))
        return True

    def _catch_up(self, number: int, changes: list[dict[str, Any]]) -> int | None:
        """On a clock, bring every list's clock to the step the clock is at (adding the
        events that joined meanwhile) and return that step; None without a clock."""
        lists = self._sports()
        if self.speed is None:
            return None
        now = self._step_at(self._stamp)
        every = self.schedule.new_event_every
        for listed in lists.values():
            while listed.steps < now:
                listed.steps += 1
                if listed.steps % every == 0:
                    self._add_event(listed, number, changes, listed.steps, now)
        return now

    def _add_event(
        self,
        listed: _SportList,
        number: int,
        changes: list[dict[str, Any]],
        appeared: int,
        now: int | None = None,
    ) -> None:
        upcoming = next(listed.upcoming, None)
        if upcoming is None:
            return
        event_id, build = upcoming
        life = life_of(self.data.seed, event_id, listed.count, self.schedule)
        if now is not None and appeared + life[1] <= now:
            return  # it ended before anyone asked: never built
        state = self._new_state(build(), life, appeared)
        fixture = state.fixture
        self._states[fixture.id] = state
        entry = (fixture_order(fixture), fixture.id)
        position = len(listed.order)
        while position and listed.order[position - 1] > entry:
            position -= 1
        listed.order.insert(position, entry)
        changes.append(self._record_change(number, EVENT_LIST, state.appeared()))

    def _sports(self) -> dict[int, _SportList]:
        """Every sport's list, and the state of each of its events, made on first use."""
        if self._lists is None:
            self._lists = {}
            seed = self.data.seed
            for sport_id in self.data.sports():
                first = self.data.fixtures(sport_id)
                order = []
                for position, fixture in enumerate(first):
                    life = life_of(seed, fixture.id, position, self.schedule)
                    scenario = None
                    if self.scenarios and sport_id == SCENARIO_SPORT:
                        scenario = scenario_at(position)
                    state = self._new_state(fixture, life, 0, scenario)
                    self._states[fixture.id] = state
                    order.append((fixture_order(state.fixture), fixture.id))
                order.sort()
                self._lists[sport_id] = _SportList(
                    len(first), order, self.data.later_fixture_builders(sport_id)
                )
        return self._lists

    def _new_state(
        self,
        fixture: Fixture,
        life: tuple[int, int],
        appeared: int,
        scenario: Scenario | None = None,
    ) -> EventState:
        """An event's state; on a clock its start date is when it goes in play."""
        if self.speed is not None:
            fixture = dataclasses.replace(fixture, start=self.step_time(appeared + life[0]))
        return EventState(
            fixture,
            *life,
            schedule=self.schedule,
            joined=appeared,
            scenario=scenario,
            quiet=self.scenarios,
        )

    def _next_answer(self) -> int:
        self.answers += 1
        return self.answers

    # -- records -----------------------------------------------------------------------------

    def _record_change(self, number: int, command: str, change: _Change) -> dict[str, Any]:
        return self._changes.add((number, command, *change))

    def _record_serve(self, record: tuple[int, str, int | None, int, int | None]) -> dict[str, Any]:
        return self._serves.add((*record, self._stamp))

    def _notify(self, changes: list[dict[str, Any]], serves: list[dict[str, Any]]) -> None:
        if changes:
            for listener in self.change_listeners:
                listener(changes)
        if serves:
            for listener in self.serve_listeners:
                listener(serves)


def _serve_entry(seq: int, record: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(SERVE_FIELDS, (seq, *record), strict=True))


def _change_entry(seq: int, record: tuple[Any, ...]) -> dict[str, Any]:
    (
        answer,
        command,
        sport_id,
        event_id,
        step,
        kind,
        listed,
        market_id,
        market_name,
        outcome_id,
        outcome_name,
        before,
        after,
        *rest,
    ) = record
    return dict(
        zip(
            CHANGE_FIELDS,
            (
                seq,
                answer,
                command,
                sport_id,
                event_id,
                step,
                kind,
                listed,
                market_id,
                market_name,
                outcome_id,
                outcome_name,
                None if before is None else before.odds,
                None if after is None else after.odds,
                None if before is None else before.fractional,
                None if after is None else after.fractional,
                *rest,
            ),
            strict=True,
        )
    )
