"""Fair turns: connections with more work than one turn take the rest in a queue, a few milliseconds per loop iteration.

Theory of operation:
- A connection's readable event handles at most one turn of work
  (``TURN_SECONDS`` / ``TURN_BYTES``).  A connection that had more to do
  ("greedy") stops reading and joins ``TurnQueue``; so does one whose output
  drained and that may go on after backpressure.
- The queue is served round-robin by one callback per loop iteration, for at
  most ``ITERATION_BUDGET`` seconds (plus the turn under way); what is left
  waits for the next iteration, after the loop has polled for I/O again.
- So a light client (one request, a ping) waits for at most one iteration's
  I/O callbacks plus ``ITERATION_BUDGET``, however many clients pipeline
  deeply at the same time; a deep pipeline alone still gets nearly the whole
  loop (the next iteration's poll returns at once while the queue is not empty).
"""

from __future__ import annotations

from collections import deque

#: One connection's turn: after this long, or this many bytes of replies, the others get theirs
#: (Redis caps a turn's writes at NET_MAX_WRITES_PER_EVENT = 64 KiB; CPU time we cap too: a turn of
#: pipelined page requests is mostly building replies).
TURN_SECONDS = 0.0002
TURN_BYTES = 64 * 1024
#: A connection that needed more than a turn is "greedy" for this long: its reads are handled in the turn
#: queue (a few ms of it per loop iteration), so light clients, handled as soon as read, never wait long.
GREEDY_SECONDS = 0.1
#: Seconds of queued turns per loop iteration: a light client's worst wait, roughly.
ITERATION_BUDGET = 0.002


class TurnQueue:
    __slots__ = ("loop", "queue", "scheduled")

    def __init__(self, loop) -> None:
        self.loop = loop
        self.queue: deque = deque()
        self.scheduled = False

    def __len__(self) -> int:
        return len(self.queue)

    def add(self, conn) -> None:
        """conn.take_turn() will be called in a later loop iteration."""
        self.queue.append(conn)
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self._run)

    def _run(self) -> None:
        self.scheduled = False
        queue, now = self.queue, self.loop.time
        end = now() + ITERATION_BUDGET
        for _ in range(len(queue)):  # the ones that join during this run wait for the next
            queue.popleft().take_turn()
            if now() > end:
                break
        if queue and not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self._run)
