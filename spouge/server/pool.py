"""The process pool: heavy computations run in worker processes, driven by the loop.

Theory of operation:
- Each worker is a subprocess (``python -m spouge.server.worker FD PPID``)
  holding one end of a socketpair; the other end is registered in the event
  loop like any client socket.  So a finished computation wakes the loop
  through its own socket, and the pool needs no thread.
- Messages are 4-byte big-endian length + pickle, both ways.  Parent to
  worker: ``("job", id, args)`` or ``("cancel", id)``; worker to parent:
  ``(id, outcome)``.  A worker runs one job at a time and the parent sends a
  job only to an idle worker, so a message always fits the socket buffer.
- A job is one computation with one or more *waiters* (``Waiter``, what a
  request's slot holds).  ``submit(args, callback, key=...)`` with the key of
  a job already queued or running adds a waiter to it instead of a second job:
  identical requests in flight share one computation and every waiter gets
  the outcome.
- Bounds: at most ``max_queue`` jobs and ``max_queue_bytes`` bytes (pickled
  arguments plus ``JOB_OVERHEAD``) wait for a worker; past either, submit()
  raises Overloaded.  One job may always wait, whatever its size.
- Cancelling: when a job's last waiter cancels (its client went away), a
  queued job leaves the queue at once (it no longer counts toward the bounds
  or the queue gauge); a running one is abandoned: the worker is sent a
  cancel message and SIGUSR1, which interrupts the computation between two
  bytecodes (see worker.py), so the CPU is freed without the ~0.1 s of CPU a
  fresh worker costs.  A worker that has not acknowledged within
  ``CANCEL_GRACE`` is killed and replaced.
- Deadlines: every job must finish within ``timeout`` (--compute-timeout) of
  its submission, queued time included.  On expiry a queued job is dropped, a
  running one's worker is killed (SIGKILL) and replaced; every waiter gets a
  timeout error.  The loop never waits on a computation.
- A worker that dies (EOF on its socket) fails its job with an error and is
  replaced.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable
from itertools import count

from ..loop import EventLoop, Timer
from .worker import CANCELLED

log = logging.getLogger("spouge.pool")

HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024

#: Bytes a queued job costs beyond its pickled arguments: the PoolJob, its
#: first Waiter, the deadline Timer and the request's reply closure (measured
#: with sys.getsizeof and tracemalloc: ~0.5 KB; rounded up).
JOB_OVERHEAD = 1024

#: Seconds a worker may take to acknowledge a cancel before it is killed.  A
#: cancel lands between two bytecodes; the longest single C call at
#: --max-digits 10000 is a few milliseconds, so this is a wide margin.
CANCEL_GRACE = 1.0


class Overloaded(Exception):
    pass


class Waiter:
    """One request waiting for a job's outcome; ``cancel()`` when its client goes away."""

    __slots__ = ("callback", "cancelled", "job")

    def __init__(self, job: PoolJob, callback: Callable) -> None:
        self.job, self.callback = job, callback
        self.cancelled = False

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self.job.pool._waiter_left(self.job)


class PoolJob:
    __slots__ = ("id", "key", "live", "payload", "pool", "size", "state", "timer", "waiters", "worker")

    def __init__(self, pool: ComputePool, job_id: int, payload: bytes, key: Hashable | None) -> None:
        self.pool, self.id, self.payload, self.key = pool, job_id, payload, key
        self.size = len(payload) + JOB_OVERHEAD
        self.waiters: list[Waiter] = []
        self.live = 0  # waiters not cancelled
        self.worker: Worker | None = None
        self.timer: Timer | None = None
        self.state = "queued"  # -> "running" -> "done"


class Worker:
    __slots__ = ("cancel_timer", "inbuf", "job", "proc", "sock")

    def __init__(self, proc: subprocess.Popen, sock: socket.socket) -> None:
        self.proc, self.sock = proc, sock
        self.inbuf = bytearray()
        self.job: PoolJob | None = None  # the job running (or being cancelled) here
        self.cancel_timer: Timer | None = None


class ComputePool:
    def __init__(self, loop: EventLoop, size: int, timeout: float, max_queue: int = 10000,
                 max_queue_bytes: int = 16 * 2**20) -> None:
        self.loop, self.size, self.timeout = loop, size, timeout
        self.max_queue, self.max_queue_bytes = max_queue, max_queue_bytes
        self.workers: list[Worker] = []
        self.queue: OrderedDict[PoolJob, None] = OrderedDict()  # waiting jobs, oldest first; O(1) removal anywhere
        self.queue_bytes = 0
        self.inflight: dict[Hashable, PoolJob] = {}  # key -> queued or running job, for sharing
        self.closed = False
        self._ids = count(1)
        self.stats = {"submitted": 0, "shared": 0, "completed": 0, "timeouts": 0, "crashes": 0, "dropped": 0,
                      "abandoned": 0, "stopped": 0, "killed_cancels": 0}
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
        source_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(p for p in [source_root, env.get("PYTHONPATH", "")] if p)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "spouge.server.worker", str(child.fileno()), str(os.getpid())],
                pass_fds=[child.fileno()],
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # a ^C to the server's terminal is the server's to handle
            )
        except OSError:
            parent.close()
            child.close()
            raise
        child.close()
        parent.setblocking(False)
        worker = Worker(proc, parent)
        self.workers.append(worker)
        self.loop.add_reader(parent, lambda sock, w=worker: self._on_readable(w))

    def _retire(self, worker: Worker, kill: bool) -> None:
        self.loop.forget(worker.sock)
        self.loop.cancel(worker.cancel_timer)
        worker.cancel_timer = None
        worker.sock.close()
        if worker in self.workers:
            self.workers.remove(worker)
        if kill:
            try:
                worker.proc.kill()
            except ProcessLookupError:
                pass
        self._reap(worker.proc)

    def _replace(self, worker: Worker) -> None:
        self._retire(worker, kill=True)
        if not self.closed:
            self._spawn()
            self._dispatch()

    def _reap(self, proc: subprocess.Popen, tries: int = 0) -> None:
        if proc.poll() is None and tries < 200:
            self.loop.call_later(0.05, self._reap, proc, tries + 1)

    # --- jobs ------------------------------------------------------------------
    @property
    def busy(self) -> int:
        return sum(1 for w in self.workers if w.job is not None)

    @property
    def saturated(self) -> bool:
        """Would a new job of ordinary size be refused now (Overloaded)?  /health then fails, so a load
        balancer sends new clients elsewhere (deploy/haproxy.cfg)."""
        queue = self.queue
        return bool(queue) and (len(queue) >= self.max_queue
                                or self.queue_bytes + 2 * JOB_OVERHEAD > self.max_queue_bytes)

    def submit(self, args: tuple, callback: Callable, key: Hashable | None = None) -> Waiter:
        """Run args in a worker; callback(outcome_dict | ComputeError) runs in the loop, exactly once.

        args: (function, x, digits) or ("method", ...), see compute.execute.
        key: jobs with equal keys (not None) in flight at once are computed once.
        Returns the Waiter to cancel() if the caller goes away.  Raises Overloaded.
        """
        if self.closed:
            raise Overloaded("the server is shutting down")
        if key is not None:
            job = self.inflight.get(key)
            if job is not None:
                self.stats["shared"] += 1
                return self._add_waiter(job, callback)
        job_id = next(self._ids)
        payload = pickle.dumps(("job", job_id, args))
        if self.queue and (len(self.queue) >= self.max_queue
                           or self.queue_bytes + len(payload) + JOB_OVERHEAD > self.max_queue_bytes):
            raise Overloaded("compute queue is full")
        job = PoolJob(self, job_id, payload, key)
        waiter = self._add_waiter(job, callback)
        self.stats["submitted"] += 1
        if key is not None:
            self.inflight[key] = job
        self.queue[job] = None
        self.queue_bytes += job.size
        job.timer = self.loop.call_later(self.timeout, self._on_deadline, job)
        self._dispatch()
        return waiter

    @staticmethod
    def _add_waiter(job: PoolJob, callback: Callable) -> Waiter:
        waiter = Waiter(job, callback)
        job.waiters.append(waiter)
        job.live += 1
        return waiter

    def _unqueue(self, job: PoolJob) -> None:
        if job in self.queue:
            del self.queue[job]
            self.queue_bytes -= job.size

    def _forget(self, job: PoolJob) -> None:
        """The job is over (or abandoned): no new request may join it; its deadline is moot."""
        job.state = "done"
        self.loop.cancel(job.timer)
        job.timer = None
        if job.key is not None and self.inflight.get(job.key) is job:
            del self.inflight[job.key]

    def _deliver(self, job: PoolJob, outcome) -> None:
        self._forget(job)
        for waiter in job.waiters:
            if not waiter.cancelled:
                waiter.cancelled = True  # each waiter is answered once
                waiter.callback(outcome)
        job.waiters.clear()

    def _waiter_left(self, job: PoolJob) -> None:
        job.live -= 1
        if job.live > 0 or job.state == "done":
            return
        self.stats["dropped"] += 1
        if job.state == "queued":
            self._unqueue(job)
            self._forget(job)
            return
        self.stats["abandoned"] += 1  # running: stop the computation, keep the worker
        self._forget(job)
        worker = job.worker
        if worker is None or worker.job is not job or worker.cancel_timer is not None:
            return
        message = pickle.dumps(("cancel", job.id))
        try:
            worker.sock.send(HEADER.pack(len(message)) + message)
            os.kill(worker.proc.pid, signal.SIGUSR1)
        except OSError:  # the worker is gone or its socket full: replace it
            self._worker_died(worker)
            return
        worker.cancel_timer = self.loop.call_later(CANCEL_GRACE, self._cancel_overdue, worker, job)

    def _cancel_overdue(self, worker: Worker, job: PoolJob) -> None:
        worker.cancel_timer = None
        if worker.job is job:
            self.stats["killed_cancels"] += 1
            log.info("worker %d did not stop a cancelled computation in %.1f s; killing it", worker.proc.pid,
                     CANCEL_GRACE)
            worker.job = None
            self._replace(worker)

    def _dispatch(self) -> None:
        if not self.queue:
            return
        for worker in self.workers:
            if not self.queue:
                return
            if worker.job is not None:
                continue
            job, _ = self.queue.popitem(last=False)
            self.queue_bytes -= job.size
            try:
                worker.sock.send(HEADER.pack(len(job.payload)) + job.payload)
            except OSError:
                self.queue[job] = None
                self.queue.move_to_end(job, last=False)
                self.queue_bytes += job.size
                self._worker_died(worker)
                return
            job.payload = b""  # sent: the bytes are no longer ours to hold
            job.state, job.worker, worker.job = "running", worker, job

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
            job_id, outcome = pickle.loads(worker.inbuf[HEADER.size : HEADER.size + size])
            del worker.inbuf[: HEADER.size + size]
            job, worker.job = worker.job, None
            self.loop.cancel(worker.cancel_timer)
            worker.cancel_timer = None
            if job is not None and job.id == job_id and job.state != "done":
                self.stats["completed"] += 1
                self._deliver(job, outcome)
            elif outcome == CANCELLED:
                self.stats["stopped"] += 1  # an abandoned computation, interrupted (not finished) by its cancel
        self._dispatch()

    def _worker_died(self, worker: Worker) -> None:
        from .compute import ComputeError

        if self.closed:
            self._retire(worker, kill=True)
            return
        job, worker.job = worker.job, None
        if job is not None and job.state != "done":
            self.stats["crashes"] += 1
            log.warning("compute worker %d died; starting another", worker.proc.pid)
            self._deliver(job, ComputeError("internal", "the computation's worker process died"))
        self._replace(worker)

    def _on_deadline(self, job: PoolJob) -> None:
        from .compute import ComputeError

        job.timer = None
        if job.state == "done":
            return
        self.stats["timeouts"] += 1
        worker = job.worker if job.state == "running" else None
        if job.state == "queued":
            self._unqueue(job)
        self._deliver(job, ComputeError("timeout", f"computation took longer than {self.timeout:g} s"))
        if worker is not None and worker.job is job:
            log.info("computation exceeded %.1f s; killing worker %d", self.timeout, worker.proc.pid)
            worker.job = None
            self._replace(worker)

    def kill_all(self) -> None:
        """Immediate exit path: SIGKILL every worker, wait for nothing."""
        for worker in self.workers:
            try:
                worker.proc.kill()
            except ProcessLookupError:
                pass

    def close(self) -> None:
        self.closed = True
        for job in list(self.queue):
            self._forget(job)
        self.queue.clear()
        self.queue_bytes = 0
        for worker in list(self.workers):
            self._retire(worker, kill=True)
        for worker in list(self.workers):
            worker.proc.wait(timeout=1)
