"""Shared-queue entries signed with a secret the workers share (``KWIFF_REDIS_SECRET``).

scrapy-redis serialises a queued request with pickle (``SCHEDULER_SERIALIZER``): reading
an entry runs whatever code its bytes ask for, so anyone who can write to Redis runs
code in every worker. With a secret, each entry is ``kwiff-hmac1:`` + HMAC-SHA256 of the
serialised request + the serialised request; an entry without a valid signature is
refused before it is deserialised (:class:`ForgedEntry`): the scheduler counts it
(``kwiff/redis/forged_entries``), logs it and drops it. The serializer contract
(``dumps``/``loads``) is scrapy-redis's; any ``SCHEDULER_SERIALIZER`` is wrapped.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

#: What a signed entry starts with (the version of this format).
SIGNED_PREFIX = b"kwiff-hmac1:"
_DIGEST_SIZE = hashlib.sha256().digest_size


class ForgedEntry(ValueError):
    """A queue entry without a valid signature: not deserialised."""


class SignedSerializer:
    """scrapy-redis's serializer contract around *inner*, with entries signed by *secret*."""

    def __init__(self, inner: Any, secret: str) -> None:
        if not secret:
            raise ValueError("KWIFF_REDIS_SECRET must not be empty")
        self.inner = inner
        self._key = secret.encode()

    def dumps(self, obj: Any) -> bytes:
        payload = _bytes(self.inner.dumps(obj))
        return SIGNED_PREFIX + self._sign(payload) + payload

    def loads(self, entry: bytes | str) -> Any:
        data = _bytes(entry)
        if not data.startswith(SIGNED_PREFIX):
            raise ForgedEntry("not signed")
        signed = data[len(SIGNED_PREFIX) :]
        signature, payload = signed[:_DIGEST_SIZE], signed[_DIGEST_SIZE:]
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise ForgedEntry("bad signature")
        return self.inner.loads(payload)

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def __repr__(self) -> str:  # never the secret
        return f"SignedSerializer({self.inner!r})"


def _bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)
