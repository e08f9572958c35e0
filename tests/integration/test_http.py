"""KwiffRequest / KwiffResponse: identity, serialisation and the Scrapy traps."""

from __future__ import annotations

import json

import pytest
from scrapy import Request
from scrapy.utils.request import RequestFingerprinter, request_from_dict
from scrapy.utils.test import get_crawler

from kwiff_scrapy import KwiffRequest, KwiffResponse
from kwiff_scrapy.integration.http import message_of, payload_of

PAYLOAD = {"listId": "default", "sportId": 11, "country": "GB"}


class CallbackSpider:
    """Stands in for a spider when resolving callbacks by name."""

    def parse_events(self, response: KwiffResponse) -> None: ...


def test_url_names_the_service_host_and_the_message() -> None:
    request = KwiffRequest("event:list", PAYLOAD)
    assert request.url == "kwiff://web-api.kwiff.com/event:list"
    assert message_of(request.url) == "event:list"


def test_body_is_canonical_json_of_the_payload() -> None:
    request = KwiffRequest("event:list", {"sportId": 11, "listId": "default", "country": "GB"})
    assert request.body == b'{"country":"GB","listId":"default","sportId":11}'
    assert request.payload == PAYLOAD
    assert payload_of(request.body) == PAYLOAD


def test_unicode_payload_is_utf8_not_escaped() -> None:
    request = KwiffRequest("event:search", {"q": "Bodø/Glimt"})
    assert "Bodø/Glimt".encode() in request.body


def test_fingerprints_tell_payloads_apart_and_ignore_key_order() -> None:
    fingerprint = RequestFingerprinter().fingerprint
    gb = KwiffRequest("event:list", PAYLOAD)
    same = KwiffRequest("event:list", dict(reversed(list(PAYLOAD.items()))))
    ie = KwiffRequest("event:list", {**PAYLOAD, "country": "IE"})
    other_message = KwiffRequest("event:get", PAYLOAD)
    assert fingerprint(gb) == fingerprint(same)
    assert fingerprint(gb) != fingerprint(ie)
    assert fingerprint(gb) != fingerprint(other_message)


def test_command_requests_do_not_obey_robots_txt_by_default() -> None:
    assert KwiffRequest("event:list").meta["dont_obey_robotstxt"] is True
    explicit = KwiffRequest("event:list", meta={"dont_obey_robotstxt": False})
    assert explicit.meta["dont_obey_robotstxt"] is False


def test_replace_payload_rebuilds_the_body() -> None:
    request = KwiffRequest("event:list", PAYLOAD, priority=3, meta={"x": 1})
    replaced = request.replace(payload={**PAYLOAD, "country": "IE"})
    assert isinstance(replaced, KwiffRequest)
    assert replaced.payload["country"] == "IE"
    assert json.loads(replaced.body)["country"] == "IE"
    assert replaced.priority == 3
    assert replaced.meta["x"] == 1
    assert request.replace(message="event:get").url.endswith("/event:get")


def test_copy_keeps_everything() -> None:
    request = KwiffRequest("event:list", PAYLOAD, dont_filter=True)
    copied = request.copy()
    assert (copied.url, copied.body, copied.dont_filter) == (request.url, request.body, True)


def test_url_and_body_cannot_be_passed() -> None:
    with pytest.raises(TypeError, match="derives 'url'"):
        KwiffRequest("event:list", url="kwiff://x/y")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="derives 'body'"):
        KwiffRequest("event:list", body=b"{}")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="needs a message"):
        KwiffRequest("")


def test_round_trips_through_to_dict_and_request_from_dict() -> None:
    spider = CallbackSpider()
    request = KwiffRequest(
        "event:list",
        PAYLOAD,
        callback=spider.parse_events,
        meta={"kwiff_endpoint": "simulator"},
        cb_kwargs={"page": 2},
        priority=5,
    )
    as_dict = request.to_dict(spider=spider)  # type: ignore[arg-type]
    assert as_dict["_class"] == "kwiff_scrapy.integration.http.KwiffRequest"
    assert json.loads(json.dumps(as_dict, default=repr))["message"] == "event:list"
    restored = request_from_dict(as_dict, spider=spider)  # type: ignore[arg-type]
    assert isinstance(restored, KwiffRequest)
    assert (restored.url, restored.body) == (request.url, request.body)
    assert (restored.message, restored.payload, restored.host) == (
        "event:list",
        PAYLOAD,
        request.host,
    )
    assert restored.callback == spider.parse_events
    assert restored.cb_kwargs == {"page": 2}
    assert restored.priority == 5
    assert restored.meta["kwiff_endpoint"] == "simulator"


def test_response_exposes_the_answer() -> None:
    request = KwiffRequest("event:list", PAYLOAD)
    raw = '[{"timestamp":1768921926610,"data":{"events":[{"id":1}]}}]'
    response = KwiffResponse.from_ack(request, raw, json.loads(raw))
    assert response.status == 200
    assert response.body == raw.encode()
    assert response.json() == json.loads(raw)
    assert response.data == {"events": [{"id": 1}]}
    assert response.answer.timestamp_ms == 1768921926610
    assert response.answer.fetched_at == "2026-01-20T15:12:06.610Z"
    assert response.message == "event:list"


def test_follow_command_builds_a_command_request_to_the_same_host() -> None:
    request = KwiffRequest("event:list", PAYLOAD, host="staging.example")
    response = KwiffResponse.from_ack(request, "[{}]", [{}])
    follow = response.follow_command("event:get", {"eventId": 7}, cb_kwargs={"a": 1})
    assert isinstance(follow, KwiffRequest)
    assert follow.url == "kwiff://staging.example/event:get"
    assert follow.payload == {"eventId": 7}
    assert follow.cb_kwargs == {"a": 1}


def test_plain_requests_to_kwiff_urls_are_understood() -> None:
    plain = Request("kwiff://web-api.kwiff.com/event:get", body=b'{"eventId": 3}')
    assert message_of(plain.url) == "event:get"
    assert payload_of(plain.body) == {"eventId": 3}
    assert payload_of(b"") == {}


def test_addon_registers_the_handler_and_keeps_a_user_choice() -> None:
    crawler = get_crawler(settings_dict={"ADDONS": {"kwiff_scrapy.Addon": 300}})
    crawler._apply_settings()
    handlers = crawler.settings.getwithbase("DOWNLOAD_HANDLERS")
    assert handlers["kwiff"] == "kwiff_scrapy.integration.handler.KwiffDownloadHandler"

    custom = get_crawler(
        settings_dict={
            "ADDONS": {"kwiff_scrapy.Addon": 300},
            "DOWNLOAD_HANDLERS": {"kwiff": "my.Handler"},
        }
    )
    custom._apply_settings()
    assert custom.settings.getwithbase("DOWNLOAD_HANDLERS")["kwiff"] == "my.Handler"
