"""In-order replies: one ``Slot`` per request, replies leave in request order.

Theory of operation:
- Every parsed request gets a ``Slot`` at the back of ``ReplyOrder.slots``.
  Replies may complete out of order (a pooled computation finishes after a
  cheap one), but only the completed slots at the *front* may be written, so
  replies leave in request order (pipelining, as Redis and HTTP/1.1 require).
- A completed reply not yet handed to the output (inside a batch of
  pipelined requests, or stuck behind an unfinished one) is still memory the
  connection holds: ``held`` counts those bytes, so backpressure and the
  output limits see them per reply (Redis counts a client's whole reply
  list, not only what the socket refused).
- A slot marked ``close_after`` (QUIT, ``Connection: close``, a protocol
  error) is the last reply: ``pop_ready`` stops there and says so; the
  connection then drops the slots after it.

Invariant: ``held`` == sum of len(slot.data) over completed slots still in ``slots``
(``Connection.complete`` fills a slot and adds to it; ``pop_ready`` takes it off).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pool import Waiter


class Slot:
    __slots__ = ("close_after", "command", "data", "job", "started")

    def __init__(self, command: str, started: float) -> None:
        self.data: bytes | None = None
        self.started = started
        self.command = command
        self.job: Waiter | None = None  # a pool job to cancel if the client goes away
        self.close_after = False


class ReplyOrder:
    __slots__ = ("held", "slots")

    def __init__(self) -> None:
        self.slots: deque[Slot] = deque()
        self.held = 0

    def __len__(self) -> int:
        return len(self.slots)

    def add(self, command: str, now: float) -> Slot:
        slot = Slot(command, now)
        self.slots.append(slot)
        return slot

    def front_ready(self) -> bool:
        return bool(self.slots) and self.slots[0].data is not None

    def pop_ready(self) -> tuple[list[bytes], int, bool]:
        """The completed replies at the front, in order, their total size, and whether the last one
        closes the connection."""
        slots = self.slots
        out: list[bytes] = []
        size = 0
        while slots and (data := slots[0].data) is not None:
            slot = slots.popleft()
            out.append(data)
            size += len(data)
            if slot.close_after:
                self.held -= size
                return out, size, True
        self.held -= size
        return out, size, False

    def unanswered(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.data is None]

    def cancel_all(self) -> None:
        """Drop every slot; pool jobs nobody will read are cancelled."""
        for slot in self.slots:
            if slot.job is not None:
                slot.job.cancel()
        self.slots.clear()
        self.held = 0
