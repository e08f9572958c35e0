"""Unknown ``KWIFF_*`` settings: a WARNING naming the close matches, once per crawl, and a
stopped crawl for a misspelt endpoint of a crawl bound for the live service.

:data:`KNOWN_SETTINGS` is the one list of the settings: the package reads no other, and
``docs/settings.md`` documents exactly those.
"""

from __future__ import annotations

import ast
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kwiff_scrapy.integration.setting_names import (
    KNOWN_SETTINGS,
    close_matches,
    endpoint_typo,
)
from kwiff_scrapy.simulator import KwiffSimulator
from kwiff_scrapy.spiders.event import KwiffEventSpider
from kwiff_scrapy.spiders.watch import KwiffWatchSpider

from ..conftest import BASE_SETTINGS, crawl
from ..support.crawl_process import (
    PROJECT_ROOT,
    assert_fails_at_start,
    crawl_environment,
    run_crawl,
)
from ..support.processes import closed_port
from ..support.waiting import HANG_GUARD

PACKAGE = PROJECT_ROOT / "kwiff_scrapy"
DOCS = PROJECT_ROOT / "docs"
#: A whole ``KWIFF_*`` name (``KWIFF_ALERT_*`` is a family, not a name).
NAME = re.compile(r"KWIFF_[A-Z0-9_]*[A-Z0-9]\b(?!_\*)")
FAMILY = re.compile(r"(KWIFF_[A-Z0-9_]+_)\*")
LINKED_PAGE = re.compile(r"\]\(([\w-]+\.md)")
#: ``KWIFF_*`` names the package reads from the environment, not from Scrapy settings.
ENVIRONMENT_VARIABLES = {"KWIFF_HISTORY_TEST_PAUSE"}
EVENT_ID = "10744160"
UNKNOWN_WARNING = "WARNING: Unknown setting "


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("KWIFF_URL", ["KWIFF_ENDPOINT"]),
        ("KWIFF_ENDPIONT", ["KWIFF_ENDPOINT"]),
        ("KWIFF_CONUTRY", ["KWIFF_COUNTRY"]),
        ("KWIFF_SIMULATOR", ["KWIFF_SIMULATOR_OPTIONS", "KWIFF_ENDPOINT"]),
        ("kwiff_endpoint", ["KWIFF_ENDPOINT"]),  # settings' names are case-sensitive
        ("Kwiff_Country", ["KWIFF_COUNTRY"]),
    ],
)
def test_the_close_matches_of_a_misspelt_setting(name: str, meant: list[str]) -> None:
    assert close_matches(name) == meant


@pytest.mark.parametrize(
    ("name", "is_endpoint"),
    [
        ("KWIFF_URL", True),
        ("KWIFF_SERVER_URL", True),
        ("KWIFF_ENDPIONT", True),
        ("KWIFF_SIMULATOR_OPTION", True),
        ("kwiff_endpoint", True),
        ("KWIFF_HISTORY_URL", False),  # meant KWIFF_HISTORY_URI
        ("KWIFF_ALERT_WEBHOK", False),
        ("KWIFF_CONUTRY", False),
    ],
)
def test_which_unknown_names_are_taken_for_an_endpoint(name: str, is_endpoint: bool) -> None:
    assert endpoint_typo(name) is is_endpoint


def settings_read_by_the_package() -> set[str]:
    """Every string constant of the package that is a whole ``KWIFF_*`` name."""
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if path.name == "setting_names.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = (node.value for node in ast.walk(tree) if isinstance(node, ast.Constant))
        names.update(c for c in constants if isinstance(c, str) and NAME.fullmatch(c))
    return names - ENVIRONMENT_VARIABLES


def test_the_package_reads_exactly_the_known_settings() -> None:
    assert settings_read_by_the_package() == KNOWN_SETTINGS


def settings_documented() -> set[str]:
    """The names the table of ``docs/settings.md`` gives, and those of each family it
    gives (``KWIFF_ALERT_*``) on the pages that family's row links to. (Its text also
    names misspelt settings, as examples.)"""
    documented: set[str] = set()
    lines = (DOCS / "settings.md").read_text(encoding="utf-8").splitlines()
    for line in (line for line in lines if line.startswith("| `")):
        documented.update(NAME.findall(line))
        for family in FAMILY.findall(line):
            for page in LINKED_PAGE.findall(line):
                text = (DOCS / page).read_text(encoding="utf-8")
                documented.update(name for name in NAME.findall(text) if name.startswith(family))
    return documented


def test_docs_settings_md_documents_exactly_the_known_settings() -> None:
    assert settings_documented() == KNOWN_SETTINGS


def kwiff_lines(log: str, text: str) -> list[str]:
    return [line for line in log.splitlines() if text in line]


def test_a_misspelt_endpoint_stops_a_crawl_bound_for_the_live_service(tmp_path: Path) -> None:
    output = tmp_path / "items.jsonl"
    command = [sys.executable, "-m", "scrapy", "crawl", "kwiff_football", "-o", str(output)]
    command += ["-s", "KWIFF_URL=ws://127.0.0.1:9000"]
    # Were the check broken, the crawl would try the live service: through a proxy that
    # refuses every connection, so that it never reaches it.
    with closed_port() as port:
        environment = {**crawl_environment("error::RuntimeWarning")}
        environment["https_proxy"] = f"http://127.0.0.1:{port}"
        result = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=HANG_GUARD,
            check=False,
        )
    assert_fails_at_start(
        result,
        "KWIFF_URL is not a setting (did you mean KWIFF_ENDPOINT?); KWIFF_ENDPOINT is not set, "
        "so this crawl would go to the live service wss://web-api.kwiff.com/socket.io/: set "
        "KWIFF_ENDPOINT",
        output,
    )
    assert kwiff_lines(result.stderr, UNKNOWN_WARNING) == []  # the error says it all


def test_an_unknown_setting_is_one_warning_and_the_crawl_goes_on(tmp_path: Path) -> None:
    output = tmp_path / "items.jsonl"
    result = run_crawl("-s", "KWIFF_CONUTRY=IE", "-s", "KWIFF_URL=x", "-o", str(output))
    assert result.returncode == 0, result.stderr[-3000:]
    warnings = kwiff_lines(result.stderr, UNKNOWN_WARNING)
    assert len(warnings) == 2, result.stderr[-3000:]
    assert warnings[0].endswith(
        "WARNING: Unknown setting KWIFF_CONUTRY: kwiff_scrapy reads no such setting, so it "
        "has no effect (did you mean KWIFF_COUNTRY?); every KWIFF_* setting is listed in "
        "docs/settings.md"
    )
    # KWIFF_ENDPOINT is set: a crawl that goes where it was told only warns.
    assert "Unknown setting KWIFF_URL: " in warnings[1]
    assert "ERROR" not in result.stderr, result.stderr[-3000:]
    assert output.read_text(encoding="utf-8").count("\n") > 0


async def test_the_watch_warns_once_too(
    simulator: KwiffSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    settings = {"KWIFF_ENDPOINT": simulator.url, "KWIFF_WATCH_GROPU": 5, "CLOSESPIDER_ITEMCOUNT": 1}
    await crawl(KwiffWatchSpider, settings, interval="1")
    warnings = [r.getMessage() for r in caplog.records if "Unknown setting" in r.getMessage()]
    assert len(warnings) == 1
    assert "(did you mean KWIFF_WATCH_GROUP?)" in warnings[0]


async def test_without_the_add_on_the_handler_warns_once(
    simulator: KwiffSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    settings = {
        "ADDONS": {},
        "DOWNLOAD_HANDLERS": {
            **BASE_SETTINGS["DOWNLOAD_HANDLERS"],
            "kwiff": "kwiff_scrapy.integration.handler.KwiffDownloadHandler",
        },
        "KWIFF_ENDPOINT": simulator.url,
        "KWIFF_CONUTRY": "IE",
    }
    result = await crawl(KwiffEventSpider, settings, ids=EVENT_ID)
    assert len(result.items) == 1
    warnings = [r.getMessage() for r in caplog.records if "Unknown setting" in r.getMessage()]
    assert warnings == [
        "Unknown setting KWIFF_CONUTRY: kwiff_scrapy reads no such setting, so it has no "
        "effect (did you mean KWIFF_COUNTRY?); every KWIFF_* setting is listed in "
        "docs/settings.md"
    ]


async def test_without_the_add_on_a_misspelt_endpoint_sends_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The handler cannot stop the crawl: it leaves ``kwiff://`` unconfigured instead."""
    caplog.set_level(logging.WARNING)
    settings = {
        "ADDONS": {},
        "RETRY_TIMES": 0,
        "DOWNLOAD_HANDLERS": {
            **BASE_SETTINGS["DOWNLOAD_HANDLERS"],
            "kwiff": "kwiff_scrapy.integration.handler.KwiffDownloadHandler",
        },
        "KWIFF_URL": "ws://127.0.0.1:9",
    }
    result = await crawl(KwiffEventSpider, settings, ids=EVENT_ID)
    assert result.items == []
    assert result.stat("downloader/exception_type_count/scrapy.exceptions.NotSupported") == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(message.startswith("KWIFF_URL is not a setting") for message in errors)
