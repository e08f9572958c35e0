"""The ``telegram`` format: Bot API ``sendMessage`` over verified TLS, against a local
HTTPS server whose self-signed certificate is given as the CA; the token and the chat id
are in no log record at any level, whatever the server answers."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from kwiff_scrapy import defaults
from kwiff_scrapy.integration import stats
from kwiff_scrapy.pipelines.alert_messages import Message, telegram_retry_after
from kwiff_scrapy.pipelines.alert_routes import Destination
from kwiff_scrapy.pipelines.alert_settings import AlertSettings

from ..conftest import crawl
from ..support.alert_spider import AlertSpider, sample_polls
from ..support.certificates import SelfSigned
from ..support.crawl_process import PROJECT_ROOT
from ..support.webhook_server import Reply, WebhookServer
from .test_alert_webhook_privacy import after_requests, every_record
from .test_alerts import ARSENAL_LINE, JUVENTUS_LINE, SPORTING_LINE

TOKEN = "7212345678:AAHx9Kq2LmT7vRw3ZpQ8sYb1NcD4fHjU6eG"
CHAT_ID = "-1001987654321"
PATH = f"/bot{TOKEN}/sendMessage"


@pytest.fixture
def certificate(tmp_path: Path) -> SelfSigned:
    return SelfSigned.make(tmp_path)


def telegram_settings(server: WebhookServer, certificate: SelfSigned, **route: Any) -> dict:
    return {
        "KWIFF_ALERT_TELEGRAM_URL": f"https://127.0.0.1:{server.port}",
        "KWIFF_ALERT_CA_FILE": str(certificate.cert_file),
        "KWIFF_ALERT_RETRY_DELAY": 0.01,
        "KWIFF_ALERT_QUIET_PERIOD": 3600,
        "KWIFF_ALERT_ROUTES": [
            {"name": "tg", "changes": ["moved"], "token": TOKEN, "chat_id": CHAT_ID, **route}
        ],
    }


def test_the_default_is_api_telegram_org_over_verified_tls() -> None:
    settings = Settings(
        {"KWIFF_ALERT_ROUTES": [{"changes": ["moved"], "token": TOKEN, "chat_id": CHAT_ID}]}
    )
    config = AlertSettings.from_settings(settings)
    (route,) = config.routes
    assert route.destination is not None
    assert route.destination.url == f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    assert defaults.ALERT_TELEGRAM_URL == "https://api.telegram.org"
    assert config.verify_tls
    assert route.destination.describe() == "Telegram (https://api.telegram.org/…)"
    assert TOKEN not in repr(route)
    assert CHAT_ID not in repr(route)
    message = Message("a line", ())
    assert route.destination.body(message) == {"chat_id": CHAT_ID, "text": "a line"}


def test_a_plain_http_telegram_url_is_refused_unless_on_this_machine() -> None:
    with pytest.raises(ValueError, match=r"^KWIFF_ALERT_TELEGRAM_URL is a plain http:// URL"):
        AlertSettings.from_settings(Settings({"KWIFF_ALERT_TELEGRAM_URL": "http://example.com"}))


def test_redaction_hides_the_token_and_the_chat_id_however_quoted() -> None:
    destination = Destination.telegram("https://api.telegram.org", TOKEN, CHAT_ID)
    text = f"POST {destination.url} for chat {CHAT_ID}: token {TOKEN}, bot{TOKEN}"
    redacted = destination.redact(text)
    assert TOKEN not in redacted
    assert TOKEN.split(":")[1][:10] not in redacted
    assert CHAT_ID not in redacted
    assert redacted.startswith("POST https://api.telegram.org/… for chat …")


async def test_messages_go_to_send_message_with_the_chat_id(certificate: SelfSigned) -> None:
    async with WebhookServer(tls=certificate.server_context(), path=PATH) as server:
        result = await crawl(AlertSpider, telegram_settings(server, certificate))
    assert [request.path for request in server.received] == [PATH, PATH]
    assert [request.json() for request in server.received] == [
        {"chat_id": CHAT_ID, "text": f"{ARSENAL_LINE}\n{JUVENTUS_LINE}"},
        {"chat_id": CHAT_ID, "text": SPORTING_LINE},
    ]
    assert server.received[0].headers["Content-Type"] == "application/json"
    assert result.stat(stats.alert_route("tg", stats.ALERTS_SENT)) == 3


async def test_a_telegram_server_whose_certificate_does_not_verify_gets_nothing(
    certificate: SelfSigned,
) -> None:
    async with WebhookServer(tls=certificate.server_context(), path=PATH) as server:
        settings = telegram_settings(server, certificate)
        del settings["KWIFF_ALERT_CA_FILE"]  # the system's CAs: a self-signed one is refused
        result = await crawl(AlertSpider, settings, polls=sample_polls()[:1])
    assert server.received == []
    assert result.stat(stats.ALERTS_FAILED) == 2


async def test_no_log_record_at_any_level_shows_the_token_or_the_chat_id(
    certificate: SelfSigned, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Telegram's own error answers; one that quotes the chat id and the token back.
    echo = Reply(
        400,
        body=f'{{"ok": false, "description": "Bad Request: chat {CHAT_ID} not found for '
        f'bot{TOKEN}"}}',
    )
    script = (Reply(500), Reply.reset(), Reply(429, {"Retry-After": "0"}), Reply(200), echo)
    async with WebhookServer(*script, tls=certificate.server_context(), path=PATH) as server:
        settings = {**telegram_settings(server, certificate), "LOG_LEVEL": "DEBUG"}
        result = await crawl(AlertSpider, settings)
        assert (result.stat(stats.ALERTS_SENT), result.stat(stats.ALERTS_FAILED)) == (2, 1)
    async with WebhookServer(default=Reply.hang(), tls=certificate.server_context()) as slow:
        settings = {
            **telegram_settings(slow, certificate),
            "LOG_LEVEL": "DEBUG",
            "KWIFF_ALERT_TIMEOUT": 0.05,
            "KWIFF_ALERT_CLOSE_TIMEOUT": 0,
        }
        # Times out, and its retry is still waiting for an answer when the spider closes.
        slow_polls = {"polls": sample_polls()[:1], "after_poll": after_requests(slow, 2)}
        result = await crawl(AlertSpider, settings, **slow_polls)
        assert result.stat(stats.ALERTS_FAILED) == 2
    (tmp_path / "other").mkdir()
    impostor_certificate = SelfSigned.make(tmp_path / "other")
    async with WebhookServer(tls=impostor_certificate.server_context()) as impostor:
        settings = {**telegram_settings(impostor, certificate), "LOG_LEVEL": "DEBUG"}
        result = await crawl(AlertSpider, settings, polls=sample_polls()[:1])
        assert impostor.received == []
    logged = every_record(caplog)
    said = "\n".join(logged)
    where = "Telegram (https://127.0.0.1:"
    for expected in (
        f"Alert webhook {where}",
        "HTTP 500; retry 1 of 3",
        "the connection failed (ServerDisconnectedError); retry 2",
        "HTTP 429; retry 3 of 3",
        "DEBUG Sent 2 alert(s)",
        'HTTP 400: {"ok": false, "description": "Bad Request: chat … not found for …"}',
        "no answer within 0.05 s",
        "did not go out to",
        "the webhook's TLS certificate was refused",
    ):
        assert expected in said
    for secret in (TOKEN, TOKEN.split(":")[0], TOKEN.split(":")[1][:8], CHAT_ID, CHAT_ID[4:]):
        leaks = [text for text in logged if secret in text]
        assert leaks == [], f"{secret!r} is in the log"


@pytest.mark.slow
async def test_scrapy_runspider_with_the_token_on_the_command_line_logs_neither(
    certificate: SelfSigned,
) -> None:
    """The token and chat id given with ``-s`` (the Twisted asyncio reactor, DEBUG): in no
    line of the whole log, Scrapy's own lines included."""
    routes = json.dumps([{"changes": ["moved"], "token": TOKEN, "chat_id": CHAT_ID}])
    async with WebhookServer(Reply(500), tls=certificate.server_context(), path=PATH) as server:
        env = {**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"}
        env.pop("SCRAPY_SETTINGS_MODULE", None)
        settings = [
            f"KWIFF_ALERT_ROUTES={routes}",
            f"KWIFF_ALERT_TELEGRAM_URL=https://127.0.0.1:{server.port}",
            f"KWIFF_ALERT_CA_FILE={certificate.cert_file}",
            "KWIFF_ALERT_RETRY_DELAY=0.01",
            "LOG_LEVEL=DEBUG",
        ]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "scrapy",
            "runspider",
            "tests/support/alert_spider.py",
            "-a",
            "signalled=1",
            *(part for setting in settings for part in ("-s", setting)),
            cwd=PROJECT_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await process.communicate()
    stderr = err.decode()
    assert process.returncode == 0, stderr[-3000:]
    assert len(server.received) == 3  # a 500, retried, then the second poll at close
    assert f"'{stats.ALERTS_SENT}': 3" in stderr
    assert "Alert webhook Telegram (https://127.0.0.1:" in stderr
    for secret in (TOKEN, TOKEN.split(":")[1][:8], CHAT_ID):
        assert secret not in stderr


def test_telegrams_retry_after_is_read_from_its_answer() -> None:
    assert telegram_retry_after(b'{"ok": false, "parameters": {"retry_after": 3}}') == 3.0
    for body in (b"", b"[]", b'{"parameters": {"retry_after": "3"}}', b'{"ok": false}'):
        assert telegram_retry_after(body) is None


async def test_a_telegram_429_waits_as_long_as_its_answer_says(certificate: SelfSigned) -> None:
    too_many = Reply(
        429,
        body='{"ok": false, "error_code": 429, "description": "Too Many Requests: retry '
        'after 1", "parameters": {"retry_after": 1}}',
    )
    async with WebhookServer(too_many, tls=certificate.server_context(), path=PATH) as server:
        settings = telegram_settings(server, certificate)  # backoff alone: 0.01 s
        result = await crawl(AlertSpider, settings, polls=sample_polls()[:1])
    first, second = server.received
    assert second.at - first.at >= 0.9
    assert second.body == first.body
    assert result.stat(stats.ALERTS_SENT) == 2
