"""Deterministic, realistic Kwiff data for the simulator.

Pure: no I/O, and the only clock is the injectable one that stamps answers. Every
event, market, outcome id and price is derived from the seed, so the same seed
always gives byte-identical JSON and tests can assert exact contents.

Prices come from a small model rather than from random numbers, so that they are
coherent: football goals are two independent Poisson variables (one per team)
whose means depend on the teams' strengths; basketball margins and totals are
normal. Each market's probabilities get a bookmaker margin and are rounded *down*
onto the UK fractional ladder; the decimal odds are then ``num/den + 1`` exactly
(whole numbers as JSON integers, as the JavaScript service sends them).

Ids are structured so that any id can be traced back without a lookup table::

    market id  = event id  * 100 + market number   (1..99)
    outcome id = market id * 100 + outcome number  (1..99)

Start dates follow a weekly pattern laid out from :data:`BASE_DATE` (a Tuesday: the
European cup nights, then the weekend's league slots) and are moved by whole weeks so
that every event is upcoming from a given day (:func:`base_date_for`): the same day
always gives the same dates, and the pattern of weekdays and kick-off times is kept.

This module is the data at rest, what the *first* answer about an event shows; how the
data moves as it is served is :mod:`kwiff_scrapy.simulator.moves`.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

from .. import defaults
from ..model.values import iso_utc

FOOTBALL: Final = 11
BASKETBALL: Final = 36
BASKETBALL_EVENTS: Final = 40

#: The anchor of the weekly kick-off pattern (a Tuesday): round ``r`` is the week starting
#: ``7 * r`` days after it. The data moves the pattern by whole weeks (:func:`base_date_for`).
BASE_DATE: Final = datetime(2026, 1, 20, tzinfo=UTC)
#: The status the service sends for a suspended market or outcome (none means open).
SUSPENDED: Final = "SUSPENDED"

Clock = Callable[[], int]
"""Returns the current time in milliseconds since the epoch."""


def system_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def utc_today() -> date:
    """The current date in UTC."""
    return datetime.now(UTC).date()


def base_date_for(today: date) -> datetime:
    """Midnight UTC of the first day *after* ``today`` on :data:`BASE_DATE`'s weekday.

    Every start date is at or after it, so every event is upcoming on ``today`` (all
    day long); the pattern keeps its weekdays and times. From 2026-01-14 to 2026-01-19
    it is :data:`BASE_DATE` itself.
    """
    ahead = (BASE_DATE.date() - today).days % 7 or 7
    day = today + timedelta(days=ahead)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --------------------------------------------------------------------------- prices

_LADDER_TEXT = (
    "1/100 1/50 1/33 1/25 1/20 1/16 1/14 1/12 1/10 1/9 1/8 1/7 1/6 1/5 2/9 1/4 2/7 3/10 "
    "1/3 4/11 2/5 4/9 1/2 8/15 4/7 8/13 4/6 8/11 4/5 5/6 10/11 1/1 21/20 11/10 6/5 5/4 "
    "11/8 6/4 13/8 7/4 15/8 2/1 85/40 9/4 12/5 5/2 11/4 3/1 10/3 7/2 4/1 9/2 5/1 11/2 "
    "6/1 13/2 7/1 15/2 8/1 17/2 9/1 10/1 11/1 12/1 14/1 16/1 18/1 20/1 22/1 25/1 28/1 "
    "33/1 40/1 50/1 66/1 80/1 100/1 125/1 150/1 200/1 250/1 300/1 500/1"
)


@dataclass(frozen=True, slots=True)
class Price:
    """A fractional price; the decimal odds are derived from it, never the reverse."""

    num: int
    den: int

    @property
    def decimal(self) -> float:
        return self.num / self.den + 1

    @property
    def odds(self) -> int | float:
        """The decimal odds as the JavaScript service writes them: ``6`` not ``6.0``."""
        if self.num % self.den == 0:
            return self.num // self.den + 1
        return round(self.decimal, 2)

    @property
    def fractional(self) -> str:
        return f"{self.num}/{self.den}"


def _parse_ladder(text: str) -> tuple[Price, ...]:
    prices = tuple(Price(*map(int, item.split("/"))) for item in text.split())
    decimals = [p.decimal for p in prices]
    if decimals != sorted(set(decimals)):
        raise ValueError("the price ladder must be strictly increasing")
    return prices


LADDER: Final = _parse_ladder(_LADDER_TEXT)
_LADDER_DECIMALS: Final = [p.decimal for p in LADDER]


def price_at_most(decimal: float) -> Price:
    """The highest ladder price not above *decimal* (a bookmaker rounds down).

    Below the ladder the lowest price is used; above it, whole numbers ``N/1``.
    """
    if decimal >= LADDER[-1].decimal + 1:
        return Price(int(decimal - 1), 1)
    index = bisect.bisect_right(_LADDER_DECIMALS, decimal + 1e-9) - 1
    return LADDER[max(index, 0)]


def price_for(probability: float, margin: float) -> Price:
    """The price of an outcome of *probability* once the bookmaker's *margin* is added."""
    return price_at_most(1 / (max(probability, 1e-6) * (1 + margin)))


# ------------------------------------------------------------------ reference data


@dataclass(frozen=True, slots=True)
class Competition:
    id: int
    name: str
    sport: int
    strength: float
    """Rating of the best team; the others step down to ``strength - 20``."""
    teams: tuple[str, ...]
    slots: tuple[tuple[int, int, int], ...]
    """Kick-off slots as (day of the round, hour UTC, minute); a round is a week."""
    nation: str = ""
    """Name pool for the players; empty for cups (players follow their club)."""


_WEEKEND = ((3, 20, 0), (4, 12, 30), (4, 15, 0), (4, 15, 0), (4, 17, 30), (5, 14, 0), (5, 16, 30))
_EUROPE = ((0, 17, 45), (0, 20, 0), (1, 17, 45), (1, 20, 0))


def _split_names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(";"))


COMPETITIONS: Final[tuple[Competition, ...]] = (
    Competition(
        id=2,
        name="UEFA Champions League",
        sport=FOOTBALL,
        strength=90,
        teams=_split_names(
            "Real Madrid; Manchester City; Bayern München; Paris Saint-Germain; Liverpool;"
            "Inter; Arsenal; FC Barcelona; Atlético Madrid; Borussia Dortmund; Juventus;"
            "Benfica; Sporting CP; PSV Eindhoven; Galatasaray; Bodø/Glimt"
        ),
        slots=_EUROPE,
    ),
    Competition(
        id=1,
        name="Premier League",
        sport=FOOTBALL,
        strength=86,
        teams=_split_names(
            "Manchester City; Arsenal; Liverpool; Chelsea; Manchester United;"
            "Tottenham Hotspur; Newcastle United; Aston Villa; Brighton & Hove Albion;"
            "West Ham United; Crystal Palace; Brentford; Fulham; Bournemouth;"
            "Wolverhampton Wanderers; Everton; Nottingham Forest; Leeds United; Burnley;"
            "Sunderland"
        ),
        slots=_WEEKEND,
        nation="en",
    ),
    Competition(
        id=3,
        name="Championship",
        sport=FOOTBALL,
        strength=70,
        teams=_split_names(
            "Leicester City; Ipswich Town; Southampton; Sheffield United; Middlesbrough;"
            "West Bromwich Albion; Norwich City; Coventry City; Hull City; Stoke City;"
            "Watford; Bristol City; Millwall; Swansea City; Queens Park Rangers;"
            "Blackburn Rovers; Preston North End; Derby County; Portsmouth; Oxford United;"
            "Sheffield Wednesday; Wrexham; Charlton Athletic; Birmingham City"
        ),
        slots=_WEEKEND,
        nation="en",
    ),
    Competition(
        id=4,
        name="La Liga",
        sport=FOOTBALL,
        strength=85,
        teams=_split_names(
            "Real Madrid; FC Barcelona; Atlético Madrid; Athletic Club; Villarreal;"
            "Real Sociedad; Real Betis; Sevilla; Girona; Valencia; Celta Vigo; Osasuna;"
            "Rayo Vallecano; Mallorca; Getafe; Espanyol; Alavés; Elche; Levante; Real Oviedo"
        ),
        slots=_WEEKEND,
        nation="es",
    ),
    Competition(
        id=5,
        name="Serie A",
        sport=FOOTBALL,
        strength=83,
        teams=_split_names(
            "Inter; Napoli; Juventus; AC Milan; Atalanta; Roma; Lazio; Fiorentina; Bologna;"
            "Como; Torino; Udinese; Genoa; Cagliari; Lecce; Parma; Hellas Verona; Sassuolo;"
            "Cremonese; Pisa"
        ),
        slots=_WEEKEND,
        nation="it",
    ),
    Competition(
        id=6,
        name="Bundesliga",
        sport=FOOTBALL,
        strength=84,
        teams=_split_names(
            "Bayern München; Bayer Leverkusen; Borussia Dortmund; RB Leipzig;"
            "Eintracht Frankfurt; VfB Stuttgart; SC Freiburg; VfL Wolfsburg;"
            "Borussia Mönchengladbach; 1. FSV Mainz 05; TSG Hoffenheim; Werder Bremen;"
            "FC Augsburg; 1. FC Union Berlin; 1. FC Köln; Hamburger SV; 1. FC Heidenheim;"
            "FC St. Pauli"
        ),
        slots=_WEEKEND,
        nation="de",
    ),
    Competition(
        id=7,
        name="Ligue 1",
        sport=FOOTBALL,
        strength=80,
        teams=_split_names(
            "Paris Saint-Germain; Olympique de Marseille; AS Monaco; LOSC Lille; OGC Nice;"
            "Olympique Lyonnais; RC Lens; Stade Rennais; RC Strasbourg; Stade Brestois;"
            "Toulouse; FC Nantes; AJ Auxerre; Angers SCO; Le Havre; FC Lorient; Paris FC;"
            "FC Metz"
        ),
        slots=_WEEKEND,
        nation="fr",
    ),
    Competition(
        id=8,
        name="Eliteserien",
        sport=FOOTBALL,
        strength=68,
        teams=_split_names(
            "Bodø/Glimt; Viking; Brann; Molde; Rosenborg; Tromsø; Sarpsborg 08; Fredrikstad;"
            "Vålerenga; Lillestrøm; Sandefjord; KFUM Oslo; HamKam; Strømsgodset; Haugesund;"
            "Kristiansund"
        ),
        slots=_WEEKEND,
        nation="no",
    ),
    Competition(
        id=9,
        name="Süper Lig",
        sport=FOOTBALL,
        strength=74,
        teams=_split_names(
            "Galatasaray; Fenerbahçe; Beşiktaş; Trabzonspor; Başakşehir; Göztepe;"
            "Samsunspor; Kasımpaşa; Alanyaspor; Antalyaspor; Konyaspor; Kayserispor;"  # noqa: RUF001
            "Gaziantep FK; Eyüpspor; Çaykur Rizespor; Gençlerbirliği; Kocaelispor;"
            "Fatih Karagümrük"
        ),
        slots=_WEEKEND,
        nation="tr",
    ),
    Competition(
        id=10,
        name="Eredivisie",
        sport=FOOTBALL,
        strength=76,
        teams=_split_names(
            "PSV Eindhoven; Feyenoord; Ajax; AZ Alkmaar; FC Twente; FC Utrecht; NEC Nijmegen;"
            "Go Ahead Eagles; sc Heerenveen; Sparta Rotterdam; PEC Zwolle; Fortuna Sittard;"
            "NAC Breda; Heracles Almelo; FC Groningen; Excelsior; Telstar; FC Volendam"
        ),
        slots=_WEEKEND,
        nation="nl",
    ),
    Competition(
        id=132,
        name="NBA",
        sport=BASKETBALL,
        strength=80,
        teams=_split_names(
            "Oklahoma City Thunder; Cleveland Cavaliers; Boston Celtics; Denver Nuggets;"
            "New York Knicks; Houston Rockets; Los Angeles Lakers; Minnesota Timberwolves;"
            "Golden State Warriors; Indiana Pacers; Milwaukee Bucks; LA Clippers;"
            "Detroit Pistons; Orlando Magic; Memphis Grizzlies; Atlanta Hawks;"
            "San Antonio Spurs; Dallas Mavericks; Miami Heat; Sacramento Kings; Phoenix Suns;"
            "Chicago Bulls; Toronto Raptors; Portland Trail Blazers; Philadelphia 76ers;"
            "New Orleans Pelicans; Charlotte Hornets; Brooklyn Nets; Utah Jazz;"
            "Washington Wizards"
        ),
        slots=((0, 0, 0), (0, 0, 30), (1, 1, 0), (2, 0, 0), (3, 2, 0), (4, 3, 0), (5, 0, 30)),
    ),
    Competition(
        id=141,
        name="EuroLeague",
        sport=BASKETBALL,
        strength=70,
        teams=_split_names(
            "Real Madrid; Fenerbahçe Beko; Olympiacos; Panathinaikos AKTOR; FC Barcelona;"
            "Anadolu Efes; AS Monaco; Žalgiris Kaunas; Crvena zvezda Meridianbet;"
            "Partizan Mozzart Bet; EA7 Emporio Armani Milano; Baskonia; Valencia Basket;"
            "Maccabi Tel Aviv; Hapoel Tel Aviv; Bayern München; Virtus Bologna;"
            "Paris Basketball; LDLC ASVEL; Dubai Basketball"
        ),
        slots=((2, 17, 30), (2, 19, 0), (2, 19, 45), (3, 17, 30), (3, 19, 0), (3, 19, 45)),
    ),
)

#: Clubs that appear only in cups, with the name pool of their players.
_CUP_ONLY_NATIONS: Final = {"Benfica": "pt", "Sporting CP": "pt"}

#: Some outcome labels spell a team differently from the event's own team fields,
#: as the live service does (e.g. ``homeTeam`` "Bodø/Glimt", outcome "Bodo/Glimt").
_OUTCOME_ALIASES: Final = {
    "Bodø/Glimt": "Bodo/Glimt",
    "Bayern München": "Bayern Munich",
    "Borussia Mönchengladbach": "B. Monchengladbach",
    "Inter": "Inter Milan",
}

_FIRST_NAMES: Final = {
    "en": "Harry Jack James Oliver Callum Jordan Marcus Declan Reece Mason Kieran Bukayo "
    "Jarrod Ollie Conor Lewis Ben Tom Aaron Jacob Morgan Cole Jude Trent Ezri Tyrick",
    "es": "Álvaro Pablo Sergio Álex Dani Iñaki Mikel Rodrigo Fermín Nico Marcos Javi Unai "
    "Óscar Raúl Iván Martín Ander",
    "it": "Federico Lorenzo Nicolò Alessandro Davide Giacomo Matteo Andrea Gianluca Sandro "
    "Riccardo Mattia Moise Destiny",
    "de": "Jamal Florian Leon Kai Joshua Niclas Maximilian Jonathan Serge Leroy Nico "
    "Antonio Robin Waldemar Lennart Jörg",
    "fr": "Kylian Ousmane Antoine Randal Aurélien Eduardo Warren Théo Jules Bradley Désiré "
    "Michael Rayan Mathys Hugo Loïs",
    "no": "Erling Martin Alexander Sander Jørgen Oscar Kristian Fredrik Ola Kasper Patrick "
    "Ulrik Håkon Sindre Mathias Sondre",
    "tr": "Arda Hakan Kerem Barış İrfan Kenan Orkun Salih Merih Ferdi Çağlar Uğurcan Oğuz "  # noqa: RUF001
    "Yunus Semih Mert",
    "nl": "Virgil Frenkie Cody Memphis Xavi Tijjani Jeremie Denzel Micky Ryan Wout Brian "
    "Jurriën Quinten Teun Noa",
    "pt": "Bruno Bernardo Rafael João Diogo Rúben Gonçalo Vitinha Nuno Pedro Francisco "
    "Otávio Renato Tiago",
}
_LAST_NAMES: Final = {
    "en": "Walker Stones Rice Foden Palmer Saka Bowen Watkins Gallagher Gordon Eze Wharton "
    "Madueke Trippier Maguire Shaw Mainoo Barnes Archer Ramsey Hudson Wilson Taylor Cooper "
    "Harrison Bradley Doyle Clarke",
    "es": "García Fernández Rodríguez López Martínez Sánchez Pérez Gómez Muñoz Jiménez Ruiz "
    "Hernández Díaz Moreno Álvarez Romero Navarro Gutiérrez Zubimendi Oyarzabal Merino Olmo",
    "it": "Chiesa Barella Frattesi Pellegrini Scamacca Retegui Raspadori Dimarco Bastoni "
    "Calafiori Tonali Locatelli Zaccagni Orsolini Kean Udogie Buongiorno Ricci Esposito",
    "de": "Müller Schröder Wirtz Musiala Kimmich Goretzka Havertz Füllkrug Gnabry Sané "
    "Schlotterbeck Rüdiger Tah Beier Undav Anton Brandt Kleindienst Weiß Köhler Stöger",
    "fr": "Dembélé Griezmann Thuram Tchouaméni Camavinga Zaïre-Emery Koundé Barcola Doué "
    "Olise Saliba Konaté Cherki Guendouzi Rabiot Kanté Lefèvre Mbappé",
    "no": "Haaland Ødegaard Sørloth Berge Bobb Thorstvedt Aursnes Solbakken Hauge Berg "
    "Nyland Østigård Ryerson Ajer Thorsby Bjørkan Sæter Evjen Hægstad",
    "tr": "Güler Çalhanoğlu Aktürkoğlu Yılmaz Kahveci Yıldız Kökçü Özcan Demiral Kadıoğlu "  # noqa: RUF001
    "Söyüncü Çakır Aydın Akgün Kılıçsoy Müldür Bardakcı Ünder Özdemir Şahin",  # noqa: RUF001
    "pt": "Fernandes Silva Leão Félix Jota Dias Ramos Neves Mendes Gonçalves Conceição "
    "Trincão Inácio Araújo Costa Palhinha Semedo Cancelo Quenda Gomes",
}
#: Dutch surnames contain spaces ("van Dijk"), so they are listed one by one.
_LAST_NAMES_NL: Final = _split_names(
    "van Dijk; de Jong; Gakpo; Depay; Simons; Reijnders; Frimpong; Dumfries; van de Ven;"
    "Gravenberch; Weghorst; Brobbey; Timber; Koopmeiners; Malen; de Ligt; Veerman; Lang; Til"
)

#: Scoring weight of each squad member listed in goalscorer markets: three forwards,
#: four midfielders, two defenders and two forwards on the bench.
_SQUAD_WEIGHTS: Final = (3.0, 2.5, 2.0, 1.2, 1.0, 0.9, 0.8, 0.4, 0.35, 1.2, 1.0)
#: Share of a team's goals scored by players not listed (the goalkeeper, own goals...).
_UNLISTED_SHARE: Final = 0.12


def _name_pool(nation: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    last = _LAST_NAMES_NL if nation == "nl" else tuple(_LAST_NAMES[nation].split())
    return tuple(_FIRST_NAMES[nation].split()), last


def _build_team_tables() -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], float]]:
    """Team ids (stable across seeds) and ratings, keyed by (sport, name).

    A club's rating comes from its domestic league (leagues are listed strongest team
    first); clubs found only in a cup are rated from their place in the cup list.
    """
    ids: dict[tuple[int, str], int] = {}
    ratings: dict[tuple[int, str], float] = {}
    for competition in sorted(COMPETITIONS, key=lambda c: c.nation == ""):
        last = max(len(competition.teams) - 1, 1)
        for position, name in enumerate(competition.teams):
            key = (competition.sport, name)
            ids.setdefault(key, 1000 + len(ids) * 7)
            ratings.setdefault(key, competition.strength - 20 * position / last)
    return ids, ratings


_TEAM_IDS, _TEAM_RATINGS = _build_team_tables()
_TEAM_NATIONS: Final = {
    **_CUP_ONLY_NATIONS,
    **{team: c.nation for c in reversed(COMPETITIONS) if c.nation for team in c.teams},
}


# ----------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class Outcome:
    id: int
    label: str
    price: Price


@dataclass(frozen=True, slots=True)
class Market:
    id: int
    name: str
    outcomes: tuple[Outcome, ...]
    listed: bool
    """Whether ``event:list`` shows it; ``event:get`` shows every market."""


@dataclass(frozen=True, slots=True)
class Fixture:
    id: int
    sport: int
    competition: Competition
    home: str
    away: str
    start: datetime
    betting_status: str
    match_tracker: bool | dict[str, Any]
    bet_builder: bool
    markets: tuple[Market, ...]


@dataclass(frozen=True, slots=True)
class _MarketSpec:
    name: str
    outcomes: Sequence[tuple[str, float]]
    margin: float
    listed: bool = True


def _poisson(mean: float, size: int) -> list[float]:
    pmf = [math.exp(-mean)]
    for k in range(1, size):
        pmf.append(pmf[-1] * mean / k)
    return pmf


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _label(team: str) -> str:
    return _OUTCOME_ALIASES.get(team, team)


def _result_split(home_pmf: list[float], away_pmf: list[float]) -> tuple[float, float, float]:
    home = draw = 0.0
    for i, p_i in enumerate(home_pmf):
        draw += p_i * away_pmf[i]
        home += p_i * sum(away_pmf[:i])
    return home, draw, max(1 - home - draw, 0.0)


def _difference_pmf(home_pmf: list[float], away_pmf: list[float]) -> dict[int, float]:
    diff: dict[int, float] = {}
    for i, p_i in enumerate(home_pmf):
        for j, p_j in enumerate(away_pmf):
            diff[i - j] = diff.get(i - j, 0.0) + p_i * p_j
    return diff


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def _squad(rng: random.Random, team: str) -> list[str]:
    """Player names for *team*: mostly from its own country's pool, some foreigners."""
    nation = _TEAM_NATIONS.get(team, "en")
    names: list[str] = []
    while len(names) < len(_SQUAD_WEIGHTS):
        pool = nation if rng.random() < 0.7 else rng.choice(sorted(_FIRST_NAMES))
        first, last = _name_pool(pool)
        name = f"{rng.choice(first)} {rng.choice(last)}"
        if name not in names:
            names.append(name)
    return names


@dataclass(frozen=True, slots=True)
class _Goals:
    """Score probabilities of one match: full time, and each half (45% of the goals first)."""

    home: list[float]
    away: list[float]
    home_1st: list[float]
    away_1st: list[float]
    home_2nd: list[float]
    away_2nd: list[float]

    @classmethod
    def from_means(cls, lam_h: float, lam_a: float) -> _Goals:
        return cls(
            _poisson(lam_h, 11),
            _poisson(lam_a, 11),
            _poisson(lam_h * 0.45, 8),
            _poisson(lam_a * 0.45, 8),
            _poisson(lam_h * 0.55, 8),
            _poisson(lam_a * 0.55, 8),
        )

    def total(self, predicate: Callable[[int, int], bool]) -> float:
        """Probability that the full-time score (home, away) satisfies *predicate*."""
        return sum(
            p_i * p_j
            for i, p_i in enumerate(self.home)
            for j, p_j in enumerate(self.away)
            if predicate(i, j)
        )

    def half_time_full_time(self) -> dict[tuple[int, int], float]:
        """Probabilities of (sign at half time, sign at full time), 1 home, 0 draw, -1 away."""
        first = _difference_pmf(self.home_1st, self.away_1st)
        second = _difference_pmf(self.home_2nd, self.away_2nd)
        htft = {(a, b): 0.0 for a in (1, 0, -1) for b in (1, 0, -1)}
        for d1, p1 in first.items():
            for d2, p2 in second.items():
                htft[_sign(d1), _sign(d1 + d2)] += p1 * p2
        return htft


# ----------------------------------------------------------- the football catalogue

Outcomes = list[tuple[str, float]]
"""A market's outcomes as (label, probability), before the bookmaker's margin."""

HOME: Final = 0
AWAY: Final = 1


@dataclass(frozen=True, slots=True)
class _Row:
    """One entry of a market catalogue: a market, or a family of them, and how to price it.

    ``{team}`` in the name gives one market per side (home first), named with the
    side's outcome label; ``{line}`` gives one market per entry of *lines*. *kind*
    names the pricing function (see :data:`_FOOTBALL_KINDS`), *source* what it prices.
    """

    name: str
    kind: str
    margin: float
    source: str = ""
    lines: tuple[float, ...] = ()
    listed: bool = True
    """Shown by ``event:list`` too; ``event:get`` shows every market."""


#: Every football market, in the order of their ids; the listed ones come first.
# fmt: off
_FOOTBALL_MARKETS: Final = (
    # name                                     kind                   margin source
    _Row("Full Time Result",                   "result",              0.05, "full time"),
    _Row("Double Chance",                      "double chance",       0.06),
    _Row("Both Teams To Score",                "yes/no",              0.07, "both teams score"),
    _Row("Over/Under {line} Goals",            "over/under",          0.07, "goals",
         lines=(2.5, 1.5, 3.5)),
    _Row("Draw No Bet",                        "draw no bet",         0.06),
    _Row("Half Time Result",                   "result",              0.06, "first half"),
    _Row("Second Half Result",                 "result",              0.06, "second half"),
    _Row("Match Result & Both Teams To Score", "result & both score", 0.1),
    _Row("Team To Score First",                "first to score",      0.07),
    _Row("Total Goals Odd/Even",               "odd/even",            0.07),
    _Row("{team} Over/Under {line} Goals",     "over/under",          0.07, "team goals",
         lines=(1.5,)),
    _Row("{team} Clean Sheet",                 "yes/no",              0.07, "clean sheet"),
    _Row("{team} To Win Either Half",          "yes/no",              0.07, "win either half"),
    _Row("Asian Handicap -1.5",                "asian handicap 1.5",  0.05, "home"),
    _Row("Asian Handicap +1.5",                "asian handicap 1.5",  0.05, "away"),
    _Row("Total Corners Over/Under {line}",    "over/under",          0.07, "corners",
         lines=(8.5, 9.5, 10.5, 11.5)),
    _Row("Total Cards Over/Under {line}",      "over/under",          0.07, "cards",
         lines=(3.5, 4.5)),
    _Row("Correct Score",                      "correct score",       0.2,  "full time"),
    _Row("First Goalscorer",                   "first scorer",        0.25),
    # In event:get only.
    _Row("Half Time/Full Time",                "half time/full time", 0.15, listed=False),
    _Row("Over/Under {line} Goals",            "over/under",          0.07, "goals",
         lines=(0.5, 4.5, 5.5), listed=False),
    _Row("Half Time Correct Score",            "correct score",       0.2,  "first half",
         listed=False),
    _Row("{team} Win To Nil",                  "yes/no",              0.07, "win to nil",
         listed=False),
    _Row("Handicap Result (-1)",               "handicap result -1",  0.07, listed=False),
    _Row("Anytime Goalscorer",                 "anytime scorer",      0.2,  listed=False),
    _Row("Last Goalscorer",                    "first scorer",        0.25, listed=False),
    _Row("To Score 2 Or More Goals",           "scores twice",        0.25, listed=False),
)
# fmt: on

#: Scores offered in the correct-score markets, home goals first; the rest is "Any Other".
_CORRECT_SCORES: Final = {
    "full time": tuple(
        (int(home), int(away))
        for home, away in re.findall(
            r"(\d)-(\d)",
            "1-0 2-0 2-1 3-0 3-1 3-2 4-0 4-1 4-2 0-0 1-1 2-2 3-3 0-1 0-2 1-2 0-3 1-3 2-3 0-4 1-4 "
            "2-4",
        )
    ),
    "first half": tuple((i, j) for i in range(3) for j in range(3)),
}


@dataclass(frozen=True, slots=True)
class _FootballMatch:
    """What the football catalogue is priced from: one match's model."""

    labels: tuple[str, str]
    """How outcomes name the home and the away team."""
    means: tuple[float, float]
    """Expected goals of the home and the away team."""
    goals: _Goals
    results: dict[str, tuple[float, float, float]]
    """Home win, draw, away win: at ``"full time"``, in the ``"first half"``, ``"second half"``."""
    counts: dict[str, list[float]]
    """Distributions of the match's ``"goals"``, ``"corners"`` and ``"cards"``."""
    scorers: tuple[tuple[str, float], ...]
    """Listed players of both squads with their expected goals, the likeliest first."""

    @classmethod
    def draw(
        cls, rng: random.Random, home_team: str, away_team: str, lam_h: float, lam_a: float
    ) -> _FootballMatch:
        goals = _Goals.from_means(lam_h, lam_a)
        corners = _poisson(10.2 + rng.uniform(-1.5, 1.5), 30)
        cards = _poisson(4.1 + rng.uniform(-0.8, 0.8), 20)
        squads = (_squad(rng, home_team), _squad(rng, away_team))
        return cls(
            labels=(_label(home_team), _label(away_team)),
            means=(lam_h, lam_a),
            goals=goals,
            results={
                "full time": _result_split(goals.home, goals.away),
                "first half": _result_split(goals.home_1st, goals.away_1st),
                "second half": _result_split(goals.home_2nd, goals.away_2nd),
            },
            counts={"goals": _poisson(lam_h + lam_a, 12), "corners": corners, "cards": cards},
            scorers=_scorers(squads, (lam_h, lam_a)),
        )

    def team_goals(self, side: int) -> list[float]:
        return self.goals.home if side == HOME else self.goals.away

    def wins_by_two(self, side: int) -> float:
        if side == HOME:
            return self.goals.total(lambda i, j: i - j >= 2)
        return self.goals.total(lambda i, j: j - i >= 2)


def _scorers(
    squads: tuple[list[str], list[str]], means: tuple[float, float]
) -> tuple[tuple[str, float], ...]:
    total_weight = sum(_SQUAD_WEIGHTS) / (1 - _UNLISTED_SHARE)
    player_means = [
        (name, mean * weight / total_weight)
        for squad, mean in zip(squads, means, strict=True)
        for name, weight in zip(squad, _SQUAD_WEIGHTS, strict=True)
    ]
    player_means.sort(key=lambda item: -item[1])
    return tuple(player_means)


# The pricing functions of the catalogue's kinds: (match, source, side, line) -> outcomes.


def _result(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), (p_home, p_draw, p_away) = match.labels, match.results[source]
    return [(home, p_home), ("Draw", p_draw), (away, p_away)]


def _double_chance(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), (p_home, p_draw, p_away) = match.labels, match.results["full time"]
    return [
        (f"{home} or Draw", p_home + p_draw),
        (f"{away} or Draw", p_away + p_draw),
        (f"{home} or {away}", p_home + p_away),
    ]


def _draw_no_bet(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), (p_home, _, p_away) = match.labels, match.results["full time"]
    return [(home, p_home / (p_home + p_away)), (away, p_away / (p_home + p_away))]


#: The chances that yes/no markets price, for a side (ignored by "both teams score").
_CHANCES: Final[dict[str, Callable[[_FootballMatch, int], float]]] = {
    "both teams score": lambda m, side: (1 - m.goals.home[0]) * (1 - m.goals.away[0]),
    "clean sheet": lambda m, side: m.team_goals(1 - side)[0],
    "win to nil": lambda m, side: sum(m.team_goals(side)[1:]) * m.team_goals(1 - side)[0],
    "win either half": lambda m, side: (
        1 - (1 - m.results["first half"][2 * side]) * (1 - m.results["second half"][2 * side])
    ),
}


def _yes_no(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    yes = _CHANCES[source](match, side)
    return [("Yes", yes), ("No", 1 - yes)]


def _over_under_count(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    counts = match.team_goals(side) if source == "team goals" else match.counts[source]
    over = 1 - sum(counts[: int(line) + 1])
    return [(f"Over {line}", over), (f"Under {line}", 1 - over)]


def _result_and_both_score(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), goals = match.labels, match.goals
    return [
        (f"{home} & Yes", goals.total(lambda i, j: i > j > 0)),
        ("Draw & Yes", goals.total(lambda i, j: i == j > 0)),
        (f"{away} & Yes", goals.total(lambda i, j: j > i > 0)),
        (f"{home} & No", goals.total(lambda i, j: i > j == 0)),
        ("Draw & No", goals.home[0] * goals.away[0]),
        (f"{away} & No", goals.total(lambda i, j: j > i == 0)),
    ]


def _first_to_score(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), (lam_h, lam_a) = match.labels, match.means
    lam, no_goal = lam_h + lam_a, match.counts["goals"][0]
    return [
        (home, (1 - no_goal) * lam_h / lam),
        ("No Goal", no_goal),
        (away, (1 - no_goal) * lam_a / lam),
    ]


def _odd_even(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    odd = (1 - math.exp(-2 * sum(match.means))) / 2
    return [("Odd", odd), ("Even", 1 - odd)]


def _asian_handicap(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    """Source ``"home"`` or ``"away"``: the side giving the 1.5 goals."""
    home, away = match.labels
    if source == "home":
        by_two = match.wins_by_two(HOME)
        return [(f"{home} -1.5", by_two), (f"{away} +1.5", 1 - by_two)]
    by_two = match.wins_by_two(AWAY)
    return [(f"{home} +1.5", 1 - by_two), (f"{away} -1.5", by_two)]


def _handicap_result(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), (p_home, p_draw, p_away) = match.labels, match.results["full time"]
    by_two = match.wins_by_two(HOME)
    return [(f"{home} -1", by_two), ("Draw -1", p_home - by_two), (f"{away} +1", p_draw + p_away)]


def _score_label(home: str, away: str, i: int, j: int) -> str:
    if i > j:
        return f"{home} {i}-{j}"
    if i < j:
        return f"{away} {j}-{i}"
    return f"Draw {i}-{j}"


def _correct_score(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    (home, away), goals = match.labels, match.goals
    home_pmf, away_pmf = (
        (goals.home, goals.away) if source == "full time" else (goals.home_1st, goals.away_1st)
    )
    outcomes = [
        (_score_label(home, away, i, j), home_pmf[i] * away_pmf[j])
        for i, j in _CORRECT_SCORES[source]
    ]
    other = max(1 - sum(p for _, p in outcomes), 0.002)
    return [*outcomes, ("Any Other Score", other)]


def _half_time_full_time(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    home, away = match.labels
    names = {1: home, 0: "Draw", -1: away}
    return [
        (f"{names[a]}/{names[b]}", p) for (a, b), p in match.goals.half_time_full_time().items()
    ]


def _first_scorer(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    lam = sum(match.means)
    any_goal = 1 - math.exp(-lam)
    first = [(name, any_goal * mean / lam) for name, mean in match.scorers]
    return [*first, ("No Goalscorer", math.exp(-lam))]


def _anytime_scorer(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    return [(name, 1 - math.exp(-mean)) for name, mean in match.scorers]


def _scores_twice(match: _FootballMatch, source: str, side: int, line: float) -> Outcomes:
    return [(name, 1 - math.exp(-mean) * (1 + mean)) for name, mean in match.scorers]


_FOOTBALL_KINDS: Final[dict[str, Callable[[_FootballMatch, str, int, float], Outcomes]]] = {
    "result": _result,
    "double chance": _double_chance,
    "draw no bet": _draw_no_bet,
    "yes/no": _yes_no,
    "over/under": _over_under_count,
    "result & both score": _result_and_both_score,
    "first to score": _first_to_score,
    "odd/even": _odd_even,
    "asian handicap 1.5": _asian_handicap,
    "handicap result -1": _handicap_result,
    "correct score": _correct_score,
    "half time/full time": _half_time_full_time,
    "first scorer": _first_scorer,
    "anytime scorer": _anytime_scorer,
    "scores twice": _scores_twice,
}


def _football_markets(match: _FootballMatch) -> list[_MarketSpec]:
    """Price the football catalogue for *match*: one spec per market, in id order."""
    specs = []
    for row in _FOOTBALL_MARKETS:
        price = _FOOTBALL_KINDS[row.kind]
        for side in (HOME, AWAY) if "{team}" in row.name else (HOME,):
            for line in row.lines or (0.0,):
                name = row.name.format(team=match.labels[side], line=line)
                outcomes = price(match, row.source, side, line)
                specs.append(_MarketSpec(name, outcomes, row.margin, row.listed))
    return specs


# ----------------------------------------------------------------------- basketball


def _over_under(name: str, line: float, over: float) -> _MarketSpec:
    return _MarketSpec(name, [(f"Over {line}", over), (f"Under {line}", 1 - over)], 0.07)


def _half_line(mean: float) -> float:
    return math.floor(mean) + 0.5


def _basketball_markets(
    rng: random.Random, home_team: str, away_team: str, margin: float, total: float
) -> list[_MarketSpec]:
    home, away = _label(home_team), _label(away_team)
    sd, total_sd = 12.5, 18.0
    p_home = _normal_cdf(margin / sd)
    spread = _half_line(margin)
    covers = _normal_cdf((margin - spread) / sd)
    line = _half_line(total)

    def over(at: float, mean: float = total, spread_sd: float = total_sd) -> float:
        return 1 - _normal_cdf((at - mean) / spread_sd)

    def between(low: float, high: float) -> float:
        return _normal_cdf((high - margin) / sd) - _normal_cdf((low - margin) / sd)

    bands = ((1, 5), (6, 10), (11, 15), (16, 20), (21, 25), (26, 99))
    winning_margin = [
        (f"{home} {lo}-{hi}" if hi < 99 else f"{home} {lo}+", between(lo - 0.5, hi + 0.5))
        for lo, hi in bands
    ] + [
        (f"{away} {lo}-{hi}" if hi < 99 else f"{away} {lo}+", between(-hi - 0.5, -lo + 0.5))
        for lo, hi in bands
    ]
    home_total, away_total = (total + margin) / 2, (total - margin) / 2
    home_line, away_line = _half_line(home_total), _half_line(away_total)
    quarter = _normal_cdf(margin / 4 / (sd / 2) + rng.uniform(-0.05, 0.05))
    return [
        _MarketSpec("Money Line", [(home, p_home), (away, 1 - p_home)], 0.05),
        _MarketSpec(
            "Point Spread",
            [(f"{home} {-spread:+g}", covers), (f"{away} {spread:+g}", 1 - covers)],
            0.05,
        ),
        _over_under("Total Points", line, over(line)),
        _MarketSpec(
            "1st Half Money Line",
            [(home, h := _normal_cdf(margin / 2 / (sd / 1.41))), (away, 1 - h)],
            0.06,
        ),
        _MarketSpec("1st Quarter Money Line", [(home, quarter), (away, 1 - quarter)], 0.06),
        _MarketSpec("Winning Margin", winning_margin, 0.15),
        _over_under(f"{home} Total Points", home_line, over(home_line, home_total, 11)),
        _over_under(f"{away} Total Points", away_line, over(away_line, away_total, 11)),
        *(
            _MarketSpec(
                f"Alternative Total Points {line + shift}",
                [
                    (f"Over {line + shift}", o := over(line + shift)),
                    (f"Under {line + shift}", 1 - o),
                ],
                0.07,
                listed=False,
            )
            for shift in (-10, -5, 5, 10)
        ),
    ]


def _as_markets(event_id: int, specs: list[_MarketSpec]) -> tuple[Market, ...]:
    """Number the markets and outcomes; ids embed their parent's id (see the module doc)."""
    if len(specs) > 99 or any(len(spec.outcomes) > 99 for spec in specs):
        raise ValueError("ids leave room for 99 markets per event and 99 outcomes per market")
    markets = []
    for number, spec in enumerate(specs, start=1):
        market_id = event_id * 100 + number
        outcomes = tuple(
            Outcome(market_id * 100 + k, label, price_for(p, spec.margin))
            for k, (label, p) in enumerate(spec.outcomes, start=1)
        )
        markets.append(Market(market_id, spec.name, outcomes, spec.listed))
    return tuple(markets)


# ----------------------------------------------------------------------- fixtures

_FIRST_EVENT_ID: Final = {FOOTBALL: 10_740_000, BASKETBALL: 20_410_000}


def _pairings(
    rng: random.Random, competitions: Sequence[Competition], base: datetime
) -> Iterator[tuple[Competition, str, str, datetime]]:
    """Endless weekly rounds, from *base*, in which every team of every competition plays once."""
    for round_number in itertools.count():
        for competition in competitions:
            teams = list(competition.teams)
            rng.shuffle(teams)
            for k in range(0, len(teams) - 1, 2):
                day, hour, minute = rng.choice(competition.slots)
                start = base + timedelta(days=7 * round_number + day, hours=hour, minutes=minute)
                yield competition, teams[k], teams[k + 1], start


def _build_fixture(
    seed: int, sport: int, event_id: int, spec: tuple[Competition, str, str, datetime]
) -> Fixture:
    competition, home, away, start = spec
    rng = random.Random(f"{seed}:{sport}:{event_id}")
    diff = _TEAM_RATINGS[sport, home] - _TEAM_RATINGS[sport, away]
    if sport == FOOTBALL:
        noise = rng.uniform(0.9, 1.1)
        lam_h = 1.45 * math.exp(diff / 40) * noise
        lam_a = 1.15 * math.exp(-diff / 40) / noise
        specs = _football_markets(_FootballMatch.draw(rng, home, away, lam_h, lam_a))
        tracker: bool | dict[str, Any] = (
            {"provider": "betradar", "matchId": 61_000_000 + event_id % 1_000_000}
            if rng.random() < 0.85
            else False
        )
    else:
        margin = 3.0 + diff * 0.6 + rng.uniform(-2, 2)
        total = (226.0 if competition.name == "NBA" else 163.0) + rng.uniform(-12, 12)
        specs = _basketball_markets(rng, home, away, margin, total)
        tracker = rng.random() < 0.7
    return Fixture(
        id=event_id,
        sport=sport,
        competition=competition,
        home=home,
        away=away,
        start=start,
        betting_status="OPEN" if rng.random() < 0.93 else "SUSPENDED",
        match_tracker=tracker,
        bet_builder=sport == FOOTBALL and rng.random() < 0.9,
        markets=_as_markets(event_id, specs),
    )


def _fixture_specs(
    seed: int, sport: int, base: datetime
) -> Iterator[tuple[int, tuple[Competition, str, str, datetime]]]:
    """Every fixture of *sport*, endlessly, as (event id, pairing), in the order drawn.

    Ids only grow, so a later fixture's id collides with no earlier one (nor with the
    other sport's, which start millions apart).
    """
    competitions = [c for c in COMPETITIONS if c.sport == sport]
    if not competitions:
        return
    rng = random.Random(f"{seed}:{sport}:fixtures")
    event_id = _FIRST_EVENT_ID[sport] + rng.randrange(10_000)
    for spec in _pairings(rng, competitions, base):
        event_id += rng.randint(1, 40)
        yield event_id, spec


def fixture_stream(seed: int, sport: int, base: datetime = BASE_DATE) -> Iterator[Fixture]:
    """Every fixture of *sport*, endlessly, in the order drawn (not sorted by kick-off).

    The first *count* are those of :func:`fixtures`; the simulator takes the ones after
    them as the new events that appear while it runs.
    """
    for event_id, spec in _fixture_specs(seed, sport, base):
        yield _build_fixture(seed, sport, event_id, spec)


def later_fixtures(
    seed: int, sport: int, count: int, base: datetime = BASE_DATE
) -> Iterator[Fixture]:
    """The fixtures drawn after the first *count*: built one by one, as they are asked for."""
    specs = itertools.islice(_fixture_specs(seed, sport, base), count, None)
    for event_id, spec in specs:
        yield _build_fixture(seed, sport, event_id, spec)


def fixture_order(fixture: Fixture) -> tuple[datetime, int, int]:
    """The order of an event list: kick-off, then competition, then id."""
    return fixture.start, fixture.competition.id, fixture.id


@lru_cache(maxsize=32)
def fixtures(seed: int, sport: int, count: int, base: datetime = BASE_DATE) -> tuple[Fixture, ...]:
    """The first *count* fixtures of *sport* for *seed*, sorted by kick-off."""
    if count <= 0:
        return ()
    built = [
        _build_fixture(seed, sport, event_id, spec)
        for event_id, spec in itertools.islice(_fixture_specs(seed, sport, base), count)
    ]
    return tuple(sorted(built, key=fixture_order))


# ---------------------------------------------------------------------------- views


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)


def _iso(moment: datetime) -> str | None:
    """*moment* in the service's time format (:func:`~kwiff_scrapy.model.values.iso_utc`)."""
    return iso_utc((moment - _EPOCH) // _MILLISECOND)


def event_header(
    fixture: Fixture, *, betting_status: str | None = None, in_play: bool = False
) -> dict[str, Any]:
    """The fields every view of an event shares. *betting_status* replaces the fixture's;
    ``"inPlay": true`` is added once the event is in play (before, the key is absent)."""
    header: dict[str, Any] = {
        "id": fixture.id,
        "sportId": fixture.sport,
        "competition": {"id": fixture.competition.id, "name": fixture.competition.name},
        "homeTeam": {"id": _TEAM_IDS[fixture.sport, fixture.home], "name": fixture.home},
        "awayTeam": {"id": _TEAM_IDS[fixture.sport, fixture.away], "name": fixture.away},
        "startDate": _iso(fixture.start),
        "bettingStatus": fixture.betting_status if betting_status is None else betting_status,
    }
    if in_play:
        header["inPlay"] = True
    header["matchTracker"] = fixture.match_tracker
    header["betBuilderEnabled"] = fixture.bet_builder
    return header


def market_view(
    market: Market,
    prices: Iterable[Price] | None = None,
    *,
    detail: bool,
    status: str | None = None,
    outcome_statuses: Sequence[str | None] | None = None,
) -> dict[str, Any]:
    """One market as an answer shows it: ``outcomes`` named by ``outcomeName`` in an
    ``event:list`` (*detail* false), ``selections`` named by ``name`` in an ``event:get``.

    *prices* replace the outcomes' own (in order); a *status* (the market's) or an
    outcome's status is sent only when there is one, as ``"status"``.
    """
    name_key = "name" if detail else "outcomeName"
    outcomes = []
    for k, (outcome, price) in enumerate(
        zip(market.outcomes, prices or (o.price for o in market.outcomes), strict=True)
    ):
        entry: dict[str, Any] = {
            "id": outcome.id,
            name_key: outcome.label,
            "odds": price.odds,
            "fractional": price.fractional,
        }
        if outcome_statuses is not None and outcome_statuses[k] is not None:
            entry["status"] = outcome_statuses[k]
        outcomes.append(entry)
    view: dict[str, Any] = {"id": market.id, "name": market.name}
    if status is not None:
        view["status"] = status
    view["selections" if detail else "outcomes"] = outcomes
    return view


def list_view(fixture: Fixture) -> dict[str, Any]:
    """The ``event:list`` shape: listed markets under ``details.offers``."""
    offers = [market_view(market, detail=False) for market in fixture.markets if market.listed]
    return {**event_header(fixture), "details": {"offers": offers}}


def detail_view(fixture: Fixture) -> dict[str, Any]:
    """The ``event:get`` shape: every market under ``markets``, outcomes as ``selections``."""
    markets = [market_view(market, detail=True) for market in fixture.markets]
    return {**event_header(fixture), "markets": markets}


@lru_cache(maxsize=32)
def _list_views(
    seed: int, sport: int, count: int, base: datetime = BASE_DATE
) -> tuple[dict[str, Any], ...]:
    return tuple(list_view(f) for f in fixtures(seed, sport, count, base))


# --------------------------------------------------------------------------- answers


class InvalidPayload(ValueError):
    """A command payload of the wrong shape; becomes an ``INVALID_PAYLOAD`` error answer."""


def _as_int(value: Any, where: str) -> int:
    """An integer field; digit strings are accepted, as a JavaScript service would."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise InvalidPayload(f"{where} must be an integer, not {type(value).__name__}")


def _as_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidPayload(f"{where} must be an object, not {type(value).__name__}")
    return value


def _as_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidPayload(f"{where} must be an array, not {type(value).__name__}")
    return value


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


#: Where a bet-builder leg stands: (event id, market id, price), or None if it cannot be
#: priced (unknown, or in the simulator's moving data: suspended or ended).
PriceLookup = Callable[[int], tuple[int, int, Price] | None]


class SimulatedData:
    """Everything the simulated service knows, derived from one seed and one day.

    *today* (default: the current UTC date, read once, here) only moves the start
    dates: every event is upcoming from it (see :func:`base_date_for`), and the same
    day gives the same dates. Returned structures may share cached objects between
    calls: treat them as read-only (serialise them, do not mutate them).
    """

    def __init__(
        self,
        seed: int = defaults.SIMULATOR_SEED,
        *,
        football_events: int = defaults.SIMULATOR_FOOTBALL_EVENTS,
        clock: Clock = system_clock_ms,
        today: date | None = None,
    ) -> None:
        self.seed = seed
        self.football_events = football_events
        self.clock = clock
        self.today = utc_today() if today is None else today
        self.base_date = base_date_for(self.today)
        """Midnight UTC of the first day of the fixtures' first week (a Tuesday)."""
        self._outcomes: dict[int, tuple[Fixture, Market, Outcome]] | None = None
        self._by_id: dict[int, Fixture] | None = None

    def _counts(self) -> dict[int, int]:
        return {FOOTBALL: self.football_events, BASKETBALL: BASKETBALL_EVENTS}

    def sports(self) -> tuple[int, ...]:
        """The sport ids whose ``event:list`` has events."""
        return tuple(sport for sport, count in self._counts().items() if count > 0)

    def count(self, sport_id: int) -> int:
        """How many events of *sport_id* the first ``event:list`` shows (0: not served)."""
        return self._counts().get(sport_id, 0)

    def fixtures(self, sport_id: int) -> tuple[Fixture, ...]:
        """The internal model behind :meth:`events` (ids, labels and prices)."""
        count = self.count(sport_id)
        return fixtures(self.seed, sport_id, count, self.base_date) if count else ()

    def later_fixtures(self, sport_id: int) -> Iterator[Fixture]:
        """The fixtures after those of :meth:`fixtures`, one by one, in the order drawn:
        the new events of the moving simulator (fresh ids, full markets, later dates)."""
        count = self.count(sport_id)
        return later_fixtures(self.seed, sport_id, count, self.base_date) if count else iter(())

    def events(self, sport_id: int, country: str = "GB") -> list[dict[str, Any]]:
        """The ``event:list`` events of a sport; the same for every *country*."""
        count = self.count(sport_id)
        return list(_list_views(self.seed, sport_id, count, self.base_date)) if count else []

    def _index(self) -> dict[int, Fixture]:
        if self._by_id is None:
            self._by_id = {f.id: f for sport in self._counts() for f in self.fixtures(sport)}
        return self._by_id

    def event(self, event_id: int) -> dict[str, Any] | None:
        """The ``event:get`` result: every market, in the ``markets``/``selections`` variant."""
        fixture = self._index().get(event_id)
        return None if fixture is None else detail_view(fixture)

    def outcome(self, outcome_id: int) -> tuple[Fixture, Market, Outcome] | None:
        """Find an outcome (of any market, listed or not) by its id."""
        if self._outcomes is None:
            self._outcomes = {
                o.id: (f, m, o)
                for f in self._index().values()
                for m in f.markets
                for o in m.outcomes
            }
        return self._outcomes.get(outcome_id)

    def _static_price(self, outcome_id: int) -> tuple[int, int, Price] | None:
        found = self.outcome(outcome_id)
        if found is None:
            return None
        fixture, market, outcome = found
        return fixture.id, market.id, outcome.price

    def price_groups(
        self, groups: list[Any], lookup: PriceLookup | None = None
    ) -> list[dict[str, Any]]:
        """Price bet-builder groups; raise :class:`InvalidPayload` for a malformed group.

        A group is priced as the product of its outcomes' decimal odds, with the
        profit part cut by 15% per extra leg (the bet builder's margin), rounded down
        onto the ladder. An unknown outcome, one from another event than the group's
        ``eventId``, or two outcomes of the same market make the group unpriceable:
        ``odds`` and ``fractionalOdds`` are then ``null``. *lookup* finds each leg's
        current price (default: the data at rest).
        """
        lookup = lookup or self._static_price
        return [
            self._price_group(_as_dict(g, f"group {n}"), n, lookup) for n, g in enumerate(groups)
        ]

    def _price_group(self, group: dict[str, Any], n: int, lookup: PriceLookup) -> dict[str, Any]:
        where = f"betBuilderOutcomeGroups[{n}]"
        ids = [
            _as_int(i, f"{where}.outcomeIds[{k}]")
            for k, i in enumerate(_as_list(group.get("outcomeIds"), f"{where}.outcomeIds"))
        ]
        event_id = group.get("eventId")
        if event_id is not None:
            event_id = _as_int(event_id, f"{where}.eventId")
        price = _combined_price([lookup(i) for i in ids], event_id)
        return {
            **group,
            "odds": None if price is None else price.odds,
            "fractionalOdds": None if price is None else price.fractional,
        }

    # ----------------------------------------------------------------- answers

    def answer(self, message: Any, payload: Any) -> dict[str, Any]:
        """The ack argument for a command: ``{"timestamp": ms, "data": {...}}``.

        Never raises for bad input: an unknown command or a malformed payload gives
        ``{"timestamp": ms, "data": null, "error": {"code": ..., "message": ...}}``.
        """
        handler = self._handlers().get(message) if isinstance(message, str) else None
        if handler is None:
            return self.error_answer("UNKNOWN_COMMAND", f"unknown command {message!r}")
        try:
            data = handler(_as_dict(payload, "payload"))
        except InvalidPayload as exc:
            return self.error_answer("INVALID_PAYLOAD", f"{message}: {exc}")
        return {"timestamp": self.clock(), "data": data}

    def error_answer(self, code: str, message: str) -> dict[str, Any]:
        """An answer carrying an ``error`` object instead of ``data``."""
        return {"timestamp": self.clock(), "data": None, "error": _error(code, message)}

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "event:list": self._answer_event_list,
            "event:get": self._answer_event_get,
            "ticket:odds:get": self._answer_ticket_odds,
        }

    def _answer_event_list(self, payload: dict[str, Any]) -> dict[str, Any]:
        sport_id, country = event_list_payload(payload)
        return {"events": self.events(sport_id, country)}

    def _answer_event_get(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"result": self.event(event_get_payload(payload))}

    def _answer_ticket_odds(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"betBuilderOutcomeGroups": self.price_groups(ticket_odds_payload(payload))}


def event_list_payload(payload: Any) -> tuple[int, str]:
    """The sport id and country of an ``event:list`` payload, or :class:`InvalidPayload`."""
    payload = _as_dict(payload, "payload")
    sport_id = _as_int(payload.get("sportId"), "payload.sportId")
    country = payload.get("country", "GB")
    if not isinstance(country, str):
        raise InvalidPayload("payload.country must be a string")
    return sport_id, country


def event_get_payload(payload: Any) -> int:
    """The event id of an ``event:get`` payload, or :class:`InvalidPayload`."""
    return _as_int(_as_dict(payload, "payload").get("eventId"), "payload.eventId")


def ticket_odds_payload(payload: Any) -> list[Any]:
    """The groups of a ``ticket:odds:get`` payload, or :class:`InvalidPayload`."""
    groups = _as_dict(payload, "payload").get("betBuilderOutcomeGroups")
    return _as_list(groups, "payload.betBuilderOutcomeGroups")


def _combined_price(
    legs: list[tuple[int, int, Price] | None], event_id: int | None
) -> Price | None:
    found = [leg for leg in legs if leg is not None]
    if not legs or len(found) != len(legs):
        return None
    if event_id is not None and any(leg_event != event_id for leg_event, _, _ in found):
        return None
    if len({market_id for _, market_id, _ in found}) != len(found):
        return None
    product = math.prod(price.decimal for _, _, price in found)
    return price_at_most(1 + (product - 1) * 0.85 ** (len(found) - 1))
