"""Ack matching in the sans-I/O :class:`~kwiff_scrapy.protocol.ClientProtocol`.

Which command an ack answers, and what an ack that answers none is (late, a
duplicate, unknown), is decided by the protocol, not by the I/O layer. Exact frames
first, then Hypothesis: a property over any interleaving of commands, acks,
abandons and closes, and a state machine that checks every classification against
a model, bounded memory included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from kwiff_scrapy.protocol import (
    RECENT_IDS_KEPT,
    AckReceived,
    ClientProtocol,
    ConnectionState,
    DuplicateAck,
    Ignored,
    InvalidState,
    LateAck,
    NamespaceError,
    ServerClosed,
    ServerEvent,
    UnknownAck,
    command_envelope,
    excerpt,
)

OPEN_FRAME = '0{"sid":"abc123","upgrades":[],"pingInterval":25000,"pingTimeout":60000}'
ENVELOPE = command_envelope(
    "event:get",
    {"eventId": 10748848},
    timestamp_ms=1768921912089,
    user_agent="Mozilla/5.0",
    webapp_version="1.0.1.1768909734556",
)
ANSWER = '[{"timestamp":1768921912389,"data":{"result":{"id":10748848}}}]'
SHOWN = excerpt(ANSWER, 80)


def ready_client(**options: Any) -> ClientProtocol:
    client = ClientProtocol(**options)
    client.receive(OPEN_FRAME)
    client.receive("40")
    assert client.state is ConnectionState.READY
    return client


def send(client: ClientProtocol, count: int = 1) -> list[int]:
    return [client.command_frame(ENVELOPE)[0] for _ in range(count)]


def ack(ack_id: int, raw: str = ANSWER) -> str:
    return f"43{ack_id}{raw}"


# =================================================================== exact frames


class TestAckClassification:
    def test_the_ack_of_a_waiting_command_is_received_once(self) -> None:
        client = ready_client()
        assert send(client) == [0]
        assert client.pending == {0}
        assert client.receive(ack(0)) == AckReceived(0, json.loads(ANSWER), ANSWER)
        assert client.pending == set()
        assert client.receive(ack(0)) == DuplicateAck(0, SHOWN)
        assert client.receive(ack(0)) == DuplicateAck(0, SHOWN)

    def test_acks_may_come_in_any_order(self) -> None:
        client = ready_client()
        send(client, 3)
        assert [client.receive(ack(i, "[]")) for i in (2, 0, 1)] == [
            AckReceived(2, [], "[]"),
            AckReceived(0, [], "[]"),
            AckReceived(1, [], "[]"),
        ]

    def test_an_ack_after_the_command_was_abandoned_is_late(self) -> None:
        client = ready_client()
        send(client, 2)
        client.abandon(0)
        assert client.pending == {1}
        assert client.receive(ack(0)) == LateAck(0, SHOWN)
        assert client.receive(ack(0)) == LateAck(0, SHOWN)  # still late, never received
        assert client.receive(ack(1)) == AckReceived(1, json.loads(ANSWER), ANSWER)

    def test_an_ack_for_an_id_never_sent_is_unknown(self) -> None:
        client = ready_client()
        send(client)
        assert client.receive(ack(1)) == UnknownAck(1, SHOWN)
        assert client.receive(ack(10**12)) == UnknownAck(10**12, SHOWN)
        assert client.pending == {0}  # an unknown ack answers nothing

    def test_abandoning_what_is_not_waiting_changes_nothing(self) -> None:
        client = ready_client()
        send(client, 2)
        client.receive(ack(0))
        client.abandon(0)  # answered already
        client.abandon(7)  # never sent
        client.abandon(1)
        client.abandon(1)  # twice
        assert client.receive(ack(0)) == DuplicateAck(0, SHOWN)
        assert client.receive(ack(7)) == UnknownAck(7, SHOWN)
        assert client.receive(ack(1)) == LateAck(1, SHOWN)

    def test_the_excerpt_of_a_large_answer_is_short(self) -> None:
        raw = json.dumps([{"data": {"events": list(range(100_000))}}])
        event = ready_client().receive(ack(5, raw))
        assert isinstance(event, UnknownAck)
        assert event.args_excerpt == excerpt(raw, 80)
        assert event.args_excerpt.startswith('\'[{"data": {"events": [0, 1, 2')
        assert len(event.args_excerpt) < 120

    def test_an_ack_for_another_namespace_answers_nothing(self) -> None:
        client = ready_client()
        send(client)
        assert client.receive('43/admin,0["x"]') == Ignored("packet for namespace '/admin'")
        assert client.pending == {0}

    def test_an_ack_while_opening(self) -> None:
        client = ClientProtocol()
        send(client)
        assert client.receive(ack(0, "[1]")) == AckReceived(0, [1], "[1]")
        assert client.state is ConnectionState.OPENING


class TestBoundedMemory:
    def test_the_default_bound_is_4096_ids(self) -> None:
        assert RECENT_IDS_KEPT == 4096
        client = ready_client()
        for ack_id in send(client, RECENT_IDS_KEPT + 1):
            client.abandon(ack_id)
        assert client.receive(ack(0)) == UnknownAck(0, SHOWN)  # forgotten
        assert client.receive(ack(1)) == LateAck(1, SHOWN)
        assert client.receive(ack(RECENT_IDS_KEPT)) == LateAck(RECENT_IDS_KEPT, SHOWN)

    def test_answered_and_abandoned_ids_are_bounded_separately(self) -> None:
        client = ready_client(ids_kept=2)
        send(client, 6)
        for ack_id in (0, 1, 2):
            client.receive(ack(ack_id))
        for ack_id in (3, 4, 5):
            client.abandon(ack_id)
        results = [type(client.receive(ack(i))) for i in range(6)]
        answered, abandoned = results[:3], results[3:]
        assert answered == [UnknownAck, DuplicateAck, DuplicateAck]
        assert abandoned == [UnknownAck, LateAck, LateAck]

    def test_nothing_remembered(self) -> None:
        client = ready_client(ids_kept=0)
        send(client, 2)
        client.receive(ack(0))
        client.abandon(1)
        assert client.receive(ack(0)) == UnknownAck(0, SHOWN)
        assert client.receive(ack(1)) == UnknownAck(1, SHOWN)

    def test_a_negative_bound_is_refused(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            ClientProtocol(ids_kept=-1)


class TestClose:
    def test_close_hands_back_the_waiting_ids_once(self) -> None:
        client = ready_client()
        send(client, 4)
        client.receive(ack(1))
        client.abandon(2)
        assert client.close() == {0, 3}
        assert client.state is ConnectionState.CLOSED
        assert client.pending == set()
        assert client.close() == set()
        # What was waiting at close is late; the rest keeps its class.
        assert [type(client.receive(ack(i))) for i in range(5)] == [
            LateAck,
            DuplicateAck,
            LateAck,
            LateAck,
            UnknownAck,
        ]

    def test_no_command_after_close(self) -> None:
        client = ready_client()
        client.close()
        with pytest.raises(InvalidState, match="closed"):
            client.command_frame(ENVELOPE)
        assert client.pending == set()

    @pytest.mark.parametrize(
        ("frame", "expected"),
        [
            ("1", ServerClosed("the server sent an Engine.IO close packet", frozenset({0, 2}))),
            ("41", ServerClosed("the server disconnected namespace '/'", frozenset({0, 2}))),
            ('44"Not authorized"', NamespaceError("/", "Not authorized", frozenset({0, 2}))),
            ('44{"message":"x"}', NamespaceError("/", {"message": "x"}, frozenset({0, 2}))),
        ],
    )
    def test_a_closing_frame_hands_back_the_waiting_ids(
        self, frame: str, expected: ServerEvent
    ) -> None:
        client = ready_client()
        send(client, 3)
        client.receive(ack(1))
        assert client.receive(frame) == expected
        assert client.state is ConnectionState.CLOSED
        assert client.close() == set()
        assert client.receive(ack(0)) == LateAck(0, SHOWN)
        # A second closing frame has nothing more to hand back.
        event = client.receive(frame)
        assert isinstance(event, ServerClosed | NamespaceError)
        assert event.unanswered == set()

    def test_closing_frames_of_another_namespace_change_nothing(self) -> None:
        client = ready_client()
        send(client)
        for frame in ("41/admin,", '44/admin,"no"'):
            assert isinstance(client.receive(frame), Ignored)
        assert client.state is ConnectionState.READY
        assert client.pending == {0}


# ====================================================== Hypothesis: any interleaving

ACK_CLASSES = (AckReceived, LateAck, DuplicateAck, UnknownAck)


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, int]]:
    """Commands, acks (for sent ids and others), abandons and closes, in any order."""
    ops: list[tuple[str, int]] = []
    sent = 0
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(["command", "command", "ack", "ack", "abandon", "close"]))
        target = draw(st.integers(0, sent + 1))  # ids sent so far, and one or two beyond
        if kind == "command":
            sent += 1
        ops.append((kind, target))
    return ops


@given(operations())
@settings(max_examples=500, deadline=None, database=None)
def test_every_ack_is_classified_once_from_the_history_alone(ops: list[tuple[str, int]]) -> None:
    """With memory for every id, what an ack is follows from what happened before it."""
    client = ready_client()
    sent: list[int] = []
    received: set[int] = set()  # ids reported by AckReceived
    abandoned: set[int] = set()  # ids given up on (abandon or close) while waiting
    closed = False
    for kind, target in ops:
        if kind == "command":
            if closed:
                with pytest.raises(InvalidState):
                    client.command_frame(ENVELOPE)
            else:
                sent.append(client.command_frame(ENVELOPE)[0])
                assert sent == list(range(len(sent)))  # fresh, increasing ids
        elif kind == "abandon":
            if target in sent and target not in received:
                abandoned.add(target)
            client.abandon(target)
        elif kind == "close":
            unanswered = client.close()
            assert unanswered == set(sent) - received - abandoned
            abandoned |= unanswered
            closed = True
        else:
            event = client.receive(ack(target, "[]"))
            assert type(event) in ACK_CLASSES
            assert event.ack_id == target
            if isinstance(event, AckReceived):
                assert target in sent
                assert target not in received  # answered at most once
                assert target not in abandoned
                assert not closed
                received.add(target)
            elif isinstance(event, LateAck):
                assert target in abandoned  # late only after it was given up
            elif isinstance(event, DuplicateAck):
                assert target in received
            else:
                assert target not in sent
        assert client.pending == set(sent) - received - abandoned
        assert not received & abandoned
    assert client.state is (ConnectionState.CLOSED if closed else ConnectionState.READY)


# ================================================= Hypothesis: a model, bounded memory


@dataclass
class Model:
    """What the protocol must remember: pending ids and the last few given up or answered."""

    kept: int
    next_id: int = 0
    pending: set[int] = field(default_factory=set)
    abandoned: list[int] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    closed: bool = False

    def recent(self, ids: list[int]) -> list[int]:
        return ids[-self.kept :] if self.kept else []

    def expected(self, ack_id: int) -> type[ServerEvent]:
        if ack_id in self.pending:
            return AckReceived
        if ack_id in self.recent(self.abandoned):
            return LateAck
        if ack_id in self.recent(self.answered):
            return DuplicateAck
        return UnknownAck


class AckMatching(RuleBasedStateMachine):
    """Any sequence of protocol calls; every result checked against :class:`Model`."""

    def __init__(self) -> None:
        super().__init__()
        self.client = ClientProtocol()
        self.model = Model(kept=0)
        self.received: set[int] = set()

    @initialize(kept=st.integers(0, 5), ready=st.booleans())
    def start(self, kept: int, ready: bool) -> None:
        self.client = ready_client(ids_kept=kept) if ready else ClientProtocol(ids_kept=kept)
        self.model = Model(kept=kept)

    @precondition(lambda self: not self.model.closed)
    @rule()
    def command(self) -> None:
        ack_id, frame = self.client.command_frame(ENVELOPE)
        assert ack_id == self.model.next_id
        assert frame.startswith(f"42{ack_id}[")
        self.model.next_id += 1
        self.model.pending.add(ack_id)

    @precondition(lambda self: self.model.closed)
    @rule()
    def command_after_close(self) -> None:
        with pytest.raises(InvalidState):
            self.client.command_frame(ENVELOPE)

    @rule(data=st.data())
    def ack(self, data: st.DataObject) -> None:
        ack_id = data.draw(st.integers(0, self.model.next_id + 2), label="ack id")
        event = self.client.receive(ack(ack_id, "[1]"))
        assert type(event) is self.model.expected(ack_id)
        assert event.ack_id == ack_id
        if isinstance(event, AckReceived):
            assert ack_id not in self.received
            self.received.add(ack_id)
            self.model.pending.remove(ack_id)
            self.model.answered.append(ack_id)
            assert (event.args, event.raw_args) == ([1], "[1]")
        else:
            assert event.args_excerpt == "'[1]'"

    @rule(data=st.data())
    def abandon(self, data: st.DataObject) -> None:
        ack_id = data.draw(st.integers(0, self.model.next_id + 1), label="abandoned id")
        self.client.abandon(ack_id)
        if ack_id in self.model.pending:
            self.model.pending.remove(ack_id)
            self.model.abandoned.append(ack_id)

    @rule()
    def close(self) -> None:
        assert self.client.close() == self.model.pending
        self.give_up_pending()

    @rule(frame=st.sampled_from(["1", "41", '44"Not authorized"']))
    def closing_frame(self, frame: str) -> None:
        event = self.client.receive(frame)
        assert isinstance(event, ServerClosed | NamespaceError)
        assert event.unanswered == self.model.pending
        self.give_up_pending()

    def give_up_pending(self) -> None:
        self.model.abandoned += sorted(self.model.pending)
        self.model.pending.clear()
        self.model.closed = True

    @invariant()
    def state_matches(self) -> None:
        assert self.client.pending == self.model.pending
        if self.model.closed:
            assert self.client.state is ConnectionState.CLOSED
        else:
            assert self.client.state is not ConnectionState.CLOSED


TestAckMatching = AckMatching.TestCase
TestAckMatching.settings = settings(
    max_examples=300, stateful_step_count=40, deadline=None, database=None
)
