"""KwiffSettings: every KWIFF_* setting read, checked and defaulted in one place."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from kwiff_scrapy import defaults
from kwiff_scrapy.connection.pool import Backoff
from kwiff_scrapy.integration.config import KwiffSettings
from kwiff_scrapy.integration.handler import KwiffDownloadHandler


def parsed(**values: Any) -> KwiffSettings:
    return KwiffSettings.from_settings(Settings(values))


def test_defaults_come_from_the_defaults_module() -> None:
    settings = parsed()
    connection = settings.connection
    assert connection.endpoint == defaults.ENDPOINT
    assert connection.identifier is None
    assert connection.user_agent == defaults.USER_AGENT
    assert connection.webapp_version == defaults.WEBAPP_VERSION
    assert connection.connections_per_endpoint == defaults.CONNECTIONS_PER_ENDPOINT
    assert connection.max_in_flight == defaults.MAX_IN_FLIGHT
    assert connection.backoff == Backoff(defaults.RECONNECT_DELAY, defaults.RECONNECT_MAX_DELAY)
    assert connection.trust_env is True
    assert connection.proxy is None
    assert dict(connection.simulator_options) == {}
    assert settings.country == defaults.COUNTRY
    # Scrapy's own DOWNLOAD_* defaults.
    assert settings.download_timeout == 180
    assert connection.open_timeout == 180
    assert settings.download_maxsize == 1024 * 1024 * 1024
    assert settings.download_warnsize == 32 * 1024 * 1024


def test_every_setting_is_read() -> None:
    settings = parsed(
        KWIFF_ENDPOINT="ws://127.0.0.1:1/socket.io/",
        KWIFF_IDENTIFIER="1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        KWIFF_USER_AGENT="Agent/1",
        KWIFF_WEBAPP_VERSION="9.9",
        KWIFF_COUNTRY="ie",
        KWIFF_CONNECTIONS_PER_ENDPOINT="3",
        KWIFF_MAX_IN_FLIGHT=7,
        KWIFF_MAX_FRAME_SIZE="12345",
        KWIFF_RECONNECT_DELAY=0.25,
        KWIFF_RECONNECT_MAX_DELAY=4,
        KWIFF_SIMULATOR_OPTIONS={"response_delay": 0.1},
        HTTPPROXY_ENABLED=False,
        DOWNLOAD_TIMEOUT=12,
        DOWNLOAD_MAXSIZE=1000,
        DOWNLOAD_WARNSIZE=500,
    )
    connection = settings.connection
    assert settings.endpoint == connection.endpoint == "ws://127.0.0.1:1/socket.io/"
    assert connection.identifier == "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    assert connection.user_agent == "Agent/1"
    assert connection.webapp_version == "9.9"
    assert settings.country == "IE"
    assert connection.connections_per_endpoint == 3
    assert connection.max_in_flight == 7
    assert connection.max_frame_size == 12345
    assert connection.backoff == Backoff(0.25, 4.0)
    assert dict(connection.simulator_options) == {"response_delay": 0.1}
    assert connection.trust_env is False
    assert settings.download_timeout == connection.open_timeout == 12
    assert (settings.download_maxsize, settings.download_warnsize) == (1000, 500)


@pytest.mark.parametrize(
    ("values", "frame_limit"),
    [
        ({}, 2 * 1024 * 1024 * 1024),  # twice DOWNLOAD_MAXSIZE
        ({"DOWNLOAD_MAXSIZE": 5000}, 10_000),
        ({"DOWNLOAD_MAXSIZE": 0}, None),  # no answer limit: no frame limit
        ({"KWIFF_MAX_FRAME_SIZE": 0}, None),
        ({"KWIFF_MAX_FRAME_SIZE": 2048, "DOWNLOAD_MAXSIZE": 5000}, 2048),
    ],
)
def test_the_frame_limit_derives_from_download_maxsize(
    values: dict[str, Any], frame_limit: int | None
) -> None:
    assert parsed(**values).connection.max_frame_size == frame_limit


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"KWIFF_CONNECTIONS_PER_ENDPOINT": 0}, "KWIFF_CONNECTIONS_PER_ENDPOINT"),
        ({"KWIFF_MAX_IN_FLIGHT": 0}, "KWIFF_MAX_IN_FLIGHT"),
        ({"KWIFF_MAX_FRAME_SIZE": -1}, "KWIFF_MAX_FRAME_SIZE"),
        ({"KWIFF_MAX_FRAME_SIZE": "big"}, "KWIFF_MAX_FRAME_SIZE"),
        ({"KWIFF_RECONNECT_DELAY": -1}, "KWIFF_RECONNECT_DELAY"),
        ({"KWIFF_RECONNECT_DELAY": 5, "KWIFF_RECONNECT_MAX_DELAY": 1}, "KWIFF_RECONNECT_DELAY"),
        ({"KWIFF_ENDPOINT": "https://web-api.kwiff.com/"}, "KWIFF_ENDPOINT"),
        ({"KWIFF_COUNTRY": "GBR"}, "KWIFF_COUNTRY"),
        ({"KWIFF_COUNTRY": "United"}, "KWIFF_COUNTRY"),
        ({"DOWNLOAD_TIMEOUT": 0}, "DOWNLOAD_TIMEOUT"),
    ],
)
def test_a_bad_value_is_refused_naming_the_setting(values: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parsed(**values)


def test_invalid_settings_fail_at_start_naming_the_setting() -> None:
    for settings, name in (
        ({"KWIFF_CONNECTIONS_PER_ENDPOINT": 0}, "KWIFF_CONNECTIONS_PER_ENDPOINT"),
        ({"KWIFF_ENDPOINT": "https://web-api.kwiff.com/"}, "KWIFF_ENDPOINT"),
        ({"KWIFF_COUNTRY": "GBR"}, "KWIFF_COUNTRY"),
    ):
        with pytest.raises(ValueError, match=name):
            KwiffDownloadHandler(get_crawler(settings_dict=settings))


def test_a_crawler_s_settings_are_parsed_once() -> None:
    crawler = get_crawler(settings_dict={"KWIFF_COUNTRY": "ie"})
    first = KwiffSettings.of(crawler)
    assert first.country == "IE"
    assert KwiffSettings.of(crawler) is first
    assert KwiffSettings.of(get_crawler()) is not first


def test_the_simulator_endpoint_is_accepted() -> None:
    assert parsed(KWIFF_ENDPOINT="simulator").endpoint == defaults.SIMULATOR_ENDPOINT


def test_tls_verification_is_on_unless_turned_off_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # None: websockets' own, verifying context.
    assert parsed().connection.ssl_context is None
    assert caplog.text == ""
    context = parsed(KWIFF_VERIFY_TLS=False).connection.ssl_context
    assert context is not None
    assert context.verify_mode == ssl.CERT_NONE
    assert "KWIFF_VERIFY_TLS is False" in caplog.text
