"""Webhooks are private: their certificate is verified, and their URL is in no log.

Crawls post to a webhook on 127.0.0.1 with a self-signed certificate made for the
test: refused by default, accepted when its CA is given, in a reactorless crawl and
in ``scrapy runspider`` with the Twisted asyncio reactor. Every log record of a crawl
that goes through retries, errors, a timeout, a refused certificate and a close with
messages still pending is searched for the webhook's id, token and URL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from scrapy.settings import Settings

from kwiff_scrapy.integration import stats
from kwiff_scrapy.pipelines.alert_messages import describe_webhook, redact
from kwiff_scrapy.pipelines.alert_settings import AlertSettings
from kwiff_scrapy.pipelines.alert_transport import WebhookClient, environment_proxy

from ..conftest import crawl
from ..support.alert_spider import AlertSpider, sample_polls
from ..support.certificates import SelfSigned
from ..support.crawl_process import PROJECT_ROOT
from ..support.webhook_server import Reply, WebhookServer
from .test_alerts import assert_counted, many_moves

WEBHOOK_ID = "1187328866543210987"
WEBHOOK_TOKEN = "x9Kq2-LmT7_vRw3ZpQ8sYb1NcD4fHjU6eGaO0iXk5tMz-WnBvCy"
#: Discord's shape: /api/webhooks/ID/TOKEN.
WEBHOOK_PATH = f"/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"

REFUSED = re.compile(
    r"Could not send 2 alert\(s\) to https://127\.0\.0\.1:\d+/…: the webhook's TLS "
    r"certificate was refused \((?P<reason>[^)]*)\), so nothing was sent: if this is the "
    r"right server, give its CA certificate with KWIFF_ALERT_CA_FILE \(for a public host "
    r"such as discord\.com, a CA bundle: python -m certifi prints the path of one\)"
)


@pytest.fixture
def certificate(tmp_path: Path) -> SelfSigned:
    return SelfSigned.make(tmp_path)


def webhook_settings(server: WebhookServer, **extra: Any) -> dict[str, Any]:
    return {
        "KWIFF_ALERT_WEBHOOK": server.url,
        "KWIFF_ALERT_RETRY_DELAY": 0.01,
        "KWIFF_ALERT_QUIET_PERIOD": 3600,
        **{f"KWIFF_ALERT_{name.upper()}": value for name, value in extra.items()},
    }


def after_requests(server: WebhookServer, count: int) -> Any:
    """An ``after_poll``: after the first poll, wait until the server got *count*
    requests (at most 10 s: a broken test fails instead of hanging)."""

    async def after_poll(number: int) -> None:
        if number == 1:
            try:
                async with asyncio.timeout(10):
                    await server.wait_for(count)
            except TimeoutError:
                pytest.fail(f"the webhook got {len(server.received)} of {count} requests in 10 s")

    return after_poll


def messages(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= level]


# -- settings -----------------------------------------------------------------------------


def test_certificates_are_verified_unless_turned_off() -> None:
    assert AlertSettings().verify_tls
    assert AlertSettings.from_settings(Settings()).verify_tls
    assert AlertSettings.from_settings(Settings()).ca_file is None
    off = AlertSettings.from_settings(Settings({"KWIFF_ALERT_VERIFY_TLS": "False"}))
    assert not off.verify_tls


def test_a_ca_file_is_read_at_start(certificate: SelfSigned, tmp_path: Path) -> None:
    given = AlertSettings.from_settings(Settings({"KWIFF_ALERT_CA_FILE": certificate.cert_file}))
    assert given.ca_file == str(certificate.cert_file)
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    for path, problem in ((tmp_path / "missing.pem", "No such file"), (not_pem, "")):
        with pytest.raises(
            ValueError, match=r"^KWIFF_ALERT_CA_FILE: cannot load CA certificates"
        ) as info:
            AlertSettings.from_settings(Settings({"KWIFF_ALERT_CA_FILE": str(path)}))
        assert problem in str(info.value)
    both = {"KWIFF_ALERT_CA_FILE": str(certificate.cert_file), "KWIFF_ALERT_VERIFY_TLS": False}
    with pytest.raises(ValueError, match=r"^KWIFF_ALERT_CA_FILE is set but KWIFF_ALERT_VERIFY_TLS"):
        AlertSettings.from_settings(Settings(both))
    with pytest.raises(ValueError, match=r"^KWIFF_ALERT_VERIFY_TLS must be True or False"):
        AlertSettings.from_settings(Settings({"KWIFF_ALERT_VERIFY_TLS": "sometimes"}))


def test_the_proxy_comes_from_the_environment_as_scrapy_takes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "https://discord.com" + WEBHOOK_PATH
    assert environment_proxy(url) is None
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert environment_proxy(url) == "http://proxy.example:3128"
    assert environment_proxy("http://127.0.0.9/hook") is None  # no http_proxy
    monkeypatch.setenv("no_proxy", "discord.com")
    assert environment_proxy(url) is None


def test_a_plain_http_webhook_takes_a_proxy_on_this_machine_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    assert environment_proxy("http://127.0.0.1:8000/hooks/secret-token") is None
    for local in ("http://127.0.0.1:3128", "http://localhost:3128", "http://[::1]:3128"):
        monkeypatch.setenv("http_proxy", local)
        assert environment_proxy("http://localhost:8000/hooks/secret-token") == local


async def test_a_plain_http_webhook_never_goes_through_a_proxy_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    # A proxy that cannot be reached: the request would fail if it were sent there.
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    async with WebhookServer() as webhook:
        settings = webhook_settings(webhook, retry_times=0, timeout=5)
        result = await crawl(AlertSpider, settings, polls=sample_polls()[:1])
    assert len(webhook.received) == 1
    assert_counted(result, sent=2, suppressed=1)


async def test_webhook_requests_take_the_environment_proxy_unless_disabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    async with WebhookServer() as proxy, WebhookServer() as webhook:
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
        result = await crawl(AlertSpider, webhook_settings(webhook), polls=sample_polls()[:1])
        assert_counted(result, sent=2, suppressed=1)
        assert (len(proxy.received), len(webhook.received)) == (1, 0)
        settings = {**webhook_settings(webhook), "HTTPPROXY_ENABLED": False}
        result = await crawl(AlertSpider, settings, polls=sample_polls()[:1])
        assert_counted(result, sent=2, suppressed=1)
        assert (len(proxy.received), len(webhook.received)) == (1, 1)


# -- redaction (pure) ---------------------------------------------------------------------


def test_redact_hides_every_secret_part_of_a_webhook_url() -> None:
    url = "https://discord.com" + WEBHOOK_PATH
    text = (
        f"POST {url} failed; path {WEBHOOK_PATH}; id {WEBHOOK_ID}; "
        f"encoded {WEBHOOK_TOKEN.replace('-', '%2D')}; retry 1 of 3 at api/webhooks"
    )
    assert redact(text, url) == (
        "POST https://discord.com/… failed; path …; id …; encoded …; retry 1 of 3 at api/webhooks"
    )
    slack = "https://hooks.slack.com/services/T0A1B2C3D/B0A1B2C3D/abcdEFGHijklMNOPqrstUVWX"
    assert redact(f"<{slack}> T0A1B2C3D", slack) == "<https://hooks.slack.com/…> …"
    with_query = "https://user:hunter22@example.com/hook?token=s3cr3t-value&x=1"
    assert redact(f"{with_query} hunter22 s3cr3t-value hook", with_query) == (
        "https://example.com/… … … hook"
    )


# -- crawls: certificates -----------------------------------------------------------------


async def test_a_self_signed_webhook_is_refused_by_default(
    certificate: SelfSigned, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with WebhookServer(tls=certificate.server_context(), path=WEBHOOK_PATH) as server:
        result = await crawl(AlertSpider, webhook_settings(server), polls=sample_polls()[:1])
    assert server.received == []  # the token never left
    assert_counted(result, sent=0, failed=2, suppressed=1)
    (refused,) = (m for m in messages(caplog) if REFUSED.fullmatch(m))
    reason = REFUSED.fullmatch(refused)
    assert reason is not None
    assert re.fullmatch(r"self.signed certificate", reason["reason"])
    assert not any(m.startswith("Alert webhook") for m in messages(caplog, logging.INFO))


async def test_a_self_signed_webhook_is_accepted_when_its_ca_is_given(
    certificate: SelfSigned,
) -> None:
    async with WebhookServer(tls=certificate.server_context(), path=WEBHOOK_PATH) as server:
        # The spider's close waits (KWIFF_ALERT_CLOSE_TIMEOUT) for what is still queued.
        settings = webhook_settings(server, ca_file=str(certificate.cert_file))
        result = await crawl(AlertSpider, settings)
    assert len(server.received) == 2
    assert server.received[0].path == WEBHOOK_PATH
    assert_counted(result, sent=3, suppressed=1)


async def test_the_certificate_must_name_the_webhook_host(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    localhost = SelfSigned.make(tmp_path, name="localhost")
    async with WebhookServer(tls=localhost.server_context(), path=WEBHOOK_PATH) as server:
        settings = webhook_settings(server, ca_file=str(localhost.cert_file))
        result = await crawl(AlertSpider, settings, polls=sample_polls()[:1])
    assert server.received == []
    assert_counted(result, sent=0, failed=2, suppressed=1)
    (refused,) = (m for m in messages(caplog) if REFUSED.fullmatch(m))
    assert "mismatch, certificate is not valid for '127.0.0.1'" in refused


async def test_verification_can_be_turned_off(
    certificate: SelfSigned, caplog: pytest.LogCaptureFixture
) -> None:
    async with WebhookServer(tls=certificate.server_context(), path=WEBHOOK_PATH) as server:
        settings = webhook_settings(server, verify_tls=False)
        result = await crawl(AlertSpider, settings)
    assert len(server.received) == 2
    assert_counted(result, sent=3, suppressed=1)
    assert (
        "The alert webhook's TLS certificate is not verified (KWIFF_ALERT_VERIFY_TLS is "
        "False): its token may go to an impostor"
    ) in messages(caplog)


# -- crawls: no log record shows the webhook ----------------------------------------------


def assert_no_secret_in(texts: list[str], url: str) -> None:
    for secret in (WEBHOOK_TOKEN[:8], WEBHOOK_ID[:8], WEBHOOK_PATH, url):
        leaks = [text for text in texts if secret in text]
        assert leaks == [], f"{secret!r} is in the log"


def every_record(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Each record as a handler would write it: message, traceback and stack."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(record) for record in caplog.records]


async def test_no_log_record_at_any_level_shows_the_webhook(
    certificate: SelfSigned, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The webhook says where it was called in its error answer, past the 200 characters
    # of it that are logged: cut there, the answer would end in the token's first half.
    padding = "." * 130
    echo = Reply(404, body=f'{{"message": "{padding} no webhook at {WEBHOOK_PATH}"}}')
    script = (Reply(500), Reply.reset(), Reply(429, {"Retry-After": "0"}), Reply(), echo)
    async with WebhookServer(*script, path=WEBHOOK_PATH) as server:
        settings = {**webhook_settings(server), "LOG_LEVEL": "DEBUG"}
        result = await crawl(AlertSpider, settings)  # one message at a time: in script order
        assert_counted(result, sent=2, failed=1, suppressed=1)
    async with WebhookServer(default=Reply.hang(), path=WEBHOOK_PATH) as slow:
        # Times out, and its retry is still waiting for an answer when the spider closes.
        settings = {**webhook_settings(slow, timeout=0.05, close_timeout=0), "LOG_LEVEL": "DEBUG"}
        slow_polls = {"polls": [many_moves(40)], "after_poll": after_requests(slow, 2)}
        result = await crawl(AlertSpider, settings, **slow_polls)
        assert_counted(result, sent=0, failed=40)
    async with WebhookServer(tls=certificate.server_context(), path=WEBHOOK_PATH) as impostor:
        settings = {**webhook_settings(impostor), "LOG_LEVEL": "DEBUG"}
        result = await crawl(AlertSpider, settings, polls=sample_polls()[:1])
        assert_counted(result, sent=0, failed=2, suppressed=1)
    logged = every_record(caplog)
    # What the log says instead, at each step (so that the search below searched them).
    said = "\n".join(logged)
    where = describe_webhook(server.url)
    for expected in (
        f"Alert webhook {where}: HTTP 500; retry 1 of 3",
        f"Alert webhook {where}: the connection failed (ServerDisconnectedError); retry 2",
        f"Alert webhook {where}: HTTP 429; retry 3 of 3",
        "DEBUG Sent 2 alert(s)",
        f'Could not send 1 alert(s) to {where}: HTTP 404: {{"message": "{padding} no webhook '
        'at …"}',
        f"Alert webhook {describe_webhook(slow.url)}: no answer within 0.05 s; retry 1 of 3",
        "did not go out to",
        "the webhook's TLS certificate was refused",
    ):
        assert expected in said
    for url in (server.url, slow.url, impostor.url):
        assert_no_secret_in(logged, url)


async def test_an_unexpected_error_is_logged_with_its_traceback_redacted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def post(client: WebhookClient, body: bytes) -> Any:
        raise RuntimeError(f"a bug that quotes {server.url}")

    monkeypatch.setattr(WebhookClient, "post", post)
    async with WebhookServer(path=WEBHOOK_PATH) as server:
        result = await crawl(AlertSpider, webhook_settings(server))
    assert_counted(result, sent=0, failed=3, suppressed=1)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2  # one per message: the sender went on
    assert "RuntimeError: a bug that quotes http://127.0.0.1:" in errors[0].getMessage()
    assert "Traceback (most recent call last)" in errors[0].getMessage()
    assert_no_secret_in(every_record(caplog), server.url)


# -- scrapy runspider, with the Twisted asyncio reactor -----------------------------------


async def run_spider(server: WebhookServer, *settings: str) -> tuple[int, str]:
    """``scrapy runspider`` of the alert spider (its DEBUG log); its exit code and stderr."""
    env = {**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"}
    env.pop("SCRAPY_SETTINGS_MODULE", None)
    arguments = [f"KWIFF_ALERT_WEBHOOK={server.url}", "KWIFF_ALERT_RETRY_DELAY=0.01", *settings]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scrapy",
        "runspider",
        "tests/support/alert_spider.py",
        "-a",
        "signalled=1",  # the second poll goes out when the spider closes
        "-s",
        "LOG_LEVEL=DEBUG",
        *(part for setting in arguments for part in ("-s", setting)),
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


@pytest.mark.slow
async def test_scrapy_runspider_refuses_a_self_signed_webhook(certificate: SelfSigned) -> None:
    async with WebhookServer(tls=certificate.server_context(), path=WEBHOOK_PATH) as server:
        returncode, stderr = await run_spider(server)
    assert returncode == 0, stderr[-3000:]
    assert "Using reactor: twisted.internet.asyncioreactor.AsyncioSelectorReactor" in stderr
    assert server.received == []
    assert stderr.count("the webhook's TLS certificate was refused") == 2  # once per message
    assert f"'{stats.ALERTS_FAILED}': 3" in stderr
    assert_no_secret_in([stderr], server.url)


@pytest.mark.slow
async def test_scrapy_runspider_accepts_a_self_signed_webhook_with_its_ca(
    certificate: SelfSigned,
) -> None:
    async with WebhookServer(tls=certificate.server_context(), path=WEBHOOK_PATH) as server:
        returncode, stderr = await run_spider(
            server, f"KWIFF_ALERT_CA_FILE={certificate.cert_file}"
        )
    assert returncode == 0, stderr[-3000:]
    assert "Using reactor: twisted.internet.asyncioreactor.AsyncioSelectorReactor" in stderr
    assert len(server.received) == 2
    assert f"'{stats.ALERTS_SENT}': 3" in stderr
    assert_no_secret_in([stderr], server.url)
