"""The process pool: heavy computations run in worker processes, driven by the loop.

Theory of operation:
- Each worker is a subprocess (``python -m spouge.server.worker FD``) holding
  one end of a socketpair; the other end is registered in the event loop like
  any client socket.  So a finished computation wakes the loop through its
  own socket, and the pool needs no thread.
- Messages are 4-byte big-endian length + pickle, both ways.  A worker runs
  one job at a time; the parent sends a job only to an idle worker, so a job
  message always fits the empty socket buffer.  Replies are read
  non-blocking into a buffer and decoded when complete.
- Each running job has a deadline timer.  On expiry the worker is killed
  (SIGKILL), the job's callback gets a timeout error, and a fresh worker is
  started: the loop never waits on a computation.
- A worker that dies (EOF on its socket) fails its job with an error and is
  replaced.  A cancelled job (its client went away) is dropped: removed from
  the queue if not started, its result discarded if running.
- Queue length is capped (``max_queue``); past it submit() raises Overloaded.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Callable

from ..loop import EventLoop, Timer

log = logging.getLogger("spouge.pool")

HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024


class Overloaded(Exception):
    pass


class PoolJob:
    __slots__ = ("args", "callback", "cancelled", "worker")

    def __init__(self, args: tuple, callback: Callable) -> None:
        self.args = args
        self.callback = callback
        self.cancelled = False
        self.worker: Worker | None = None

    def cancel(self) -> None:
        self.cancelled = True


class Worker:
    __slots__ = ("proc", "sock", "inbuf", "job", "timer")

    def __init__(self, proc: subprocess.Popen, sock: socket.socket) -> None:
        self.proc, self.sock = proc, sock
        self.inbuf = bytearray()
        self.job: PoolJob | None = None
        self.timer: Timer | None = None


class ComputePool:
    def __init__(self, loop: EventLoop, size: int, timeout: float, max_queue: int = 10000) -> None:
        self.loop, self.size, self.timeout, self.max_queue = loop, size, timeout, max_queue
        self.workers: list[Worker] = []
        self.queue: deque[PoolJob] = deque()
        self.closed = False
        self.stats = {"submitted": 0, "completed": 0, "timeouts": 0, "crashes": 0, "dropped": 0}
        for _ in range(size):
            self._spawn()

    # --- workers -------------------------------------------------------------
    def _spawn(self) -> None:
        try:
            self._start_worker()
        except OSError as exc:  # e.g. out of file descriptors: try again shortly
            log.warning("cannot start a compute worker (%s); retrying in 1 s", exc)
            self.loop.call_later(1.0, self._respawn_missing)

    def _respawn_missing(self) -> None:
        if not self.closed and len(self.workers) < self.size:
            self._spawn()
            self._dispatch()

    def _start_worker(self) -> None:
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in [os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), env.get("PYTHONPATH", "")] if p)
        proc = subprocess.Popen(
            [sys.executable, "-m", "spouge.server.worker", str(child.fileno()), str(os.getpid())],
            pass_fds=[child.fileno()],
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # a ^C to the server's terminal is the server's to handle
        )
        child.close()
        parent.setblocking(False)
        worker = Worker(proc, parent)
        self.workers.append(worker)
        self.loop.add_reader(parent, lambda sock, w=worker: self._on_readable(w))

    def _retire(self, worker: Worker, kill: bool) -> None:
        self.loop.forget(worker.sock)
        self.loop.cancel(worker.timer)
        worker.sock.close()
        if worker in self.workers:
            self.workers.remove(worker)
        if kill:
            try:
                worker.proc.kill()
            except ProcessLookupError:
                pass
        self._reap(worker.proc)

    def _reap(self, proc: subprocess.Popen, tries: int = 0) -> None:
        if proc.poll() is None and tries < 200:
            self.loop.call_later(0.05, self._reap, proc, tries + 1)

    # --- jobs ------------------------------------------------------------------
    @property
    def busy(self) -> int:
        return sum(1 for w in self.workers if w.job is not None)

    def submit(self, args: tuple, callback: Callable) -> PoolJob:
        """Queue args = (function, x, digits); callback(outcome_dict | ComputeError) runs in the loop."""
        if len(self.queue) >= self.max_queue:
            raise Overloaded("compute queue is full")
        job = PoolJob(args, callback)
        self.stats["submitted"] += 1
        self.queue.append(job)
        self._dispatch()
        return job

    def _dispatch(self) -> None:
        for worker in self.workers:
            if not self.queue:
                return
            if worker.job is not None:
                continue
            while self.queue and self.queue[0].cancelled:
                self.queue.popleft()
                self.stats["dropped"] += 1
            if not self.queue:
                return
            job = self.queue.popleft()
            payload = pickle.dumps(job.args)
            try:
                worker.sock.send(HEADER.pack(len(payload)) + payload)
            except OSError:
                self.queue.appendleft(job)
                self._worker_died(worker)
                return
            worker.job, job.worker = job, worker
            worker.timer = self.loop.call_later(self.timeout, self._on_timeout, worker, job)

    def _finish(self, worker: Worker, outcome) -> None:
        job, worker.job = worker.job, None
        self.loop.cancel(worker.timer)
        worker.timer = None
        if job is not None and not job.cancelled:
            job.callback(outcome)
        elif job is not None:
            self.stats["dropped"] += 1

    def _on_readable(self, worker: Worker) -> None:
        try:
            data = worker.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._worker_died(worker)
            return
        worker.inbuf += data
        while len(worker.inbuf) >= HEADER.size:
            (size,) = HEADER.unpack_from(worker.inbuf)
            if size > MAX_MESSAGE:
                self._worker_died(worker)
                return
            if len(worker.inbuf) < HEADER.size + size:
                return
            message = pickle.loads(worker.inbuf[HEADER.size : HEADER.size + size])
            del worker.inbuf[: HEADER.size + size]
            self.stats["completed"] += 1
            self._finish(worker, message)
        self._dispatch()

    def _worker_died(self, worker: Worker) -> None:
        from .compute import ComputeError

        if self.closed:
            self._retire(worker, kill=True)
            return
        self.stats["crashes"] += 1
        log.warning("compute worker %d died; starting another", worker.proc.pid)
        self._finish(worker, ComputeError("internal", "the computation's worker process died"))
        self._retire(worker, kill=True)
        self._spawn()
        self._dispatch()

    def _on_timeout(self, worker: Worker, job: PoolJob) -> None:
        from .compute import ComputeError

        if worker.job is not job:
            return
        self.stats["timeouts"] += 1
        log.info("computation exceeded %.1f s; killing worker %d", self.timeout, worker.proc.pid)
        self._finish(worker, ComputeError("timeout", f"computation took longer than {self.timeout:g} s"))
        self._retire(worker, kill=True)
        if not self.closed:
            self._spawn()
            self._dispatch()

    def kill_all(self) -> None:
        """Immediate exit path: SIGKILL every worker, wait for nothing."""
        for worker in self.workers:
            try:
                worker.proc.kill()
            except ProcessLookupError:
                pass

    def close(self) -> None:
        self.closed = True
        for job in self.queue:
            job.cancel()
        self.queue.clear()
        for worker in list(self.workers):
            self._retire(worker, kill=True)
        for worker in list(self.workers):
            worker.proc.wait(timeout=1)
