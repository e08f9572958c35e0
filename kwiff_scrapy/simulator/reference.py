"""The simulated service's world: sports, competitions, teams and players' names.

Fixed tables, the same for every seed: the competitions with their teams (strongest
first) and kick-off slots, each team's id and rating, and the name pools that squads
are drawn from.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from typing import Final

FOOTBALL: Final = 11
BASKETBALL: Final = 36


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


@functools.cache
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


#: Each team's id and rating, keyed by (sport, name).
TEAM_IDS, TEAM_RATINGS = _build_team_tables()
_TEAM_NATIONS: Final = {
    **_CUP_ONLY_NATIONS,
    **{team: c.nation for c in reversed(COMPETITIONS) if c.nation for team in c.teams},
}


def outcome_label(team: str) -> str:
    """How outcome labels name *team* (see :data:`_OUTCOME_ALIASES`)."""
    return _OUTCOME_ALIASES.get(team, team)


#: The name pools' nations in a fixed order, for drawing a foreigner's.
_NATIONS: Final = tuple(sorted(_FIRST_NAMES))


def squad(rng: random.Random, team: str, size: int) -> list[str]:
    """*size* player names for *team*: mostly from its own country's pool, some foreigners."""
    nation = _TEAM_NATIONS.get(team, "en")
    names: list[str] = []
    while len(names) < size:
        pool = nation if rng.random() < 0.7 else rng.choice(_NATIONS)
        first, last = _name_pool(pool)
        name = f"{rng.choice(first)} {rng.choice(last)}"
        if name not in names:
            names.append(name)
    return names
