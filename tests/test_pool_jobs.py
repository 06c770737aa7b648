"""The compute pool on its own: real worker processes, driven by a real event loop in this process.

Issue 10, item 2: the queue is bounded in jobs and bytes; cancelled jobs
leave the queue at once; a running job nobody waits for is stopped (and its
worker kept); identical jobs in flight are computed once.
"""

from __future__ import annotations

import os
import random
import time

import pytest

import spouge
from spouge.loop import EventLoop
from spouge.server.compute import ComputeError
from spouge.server.pool import JOB_OVERHEAD, ComputePool, Overloaded

LONG = ("gamma", "0.3", 30000)  # minutes of work with a cold table: only a cancel or a timeout ends it


def spin(loop: EventLoop, predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        loop.call_later(0.01, lambda: None)
        loop.run_once()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def loop():
    loop = EventLoop()
    yield loop
    loop.close()


@pytest.fixture
def make_pool(loop):
    pools = []

    def make(size=1, timeout=60.0, **kwargs) -> ComputePool:
        pool = ComputePool(loop, size, timeout, **kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def test_an_abandoned_running_job_stops_and_its_worker_stays(loop, make_pool):
    pool = make_pool()
    outcomes = []
    waiter = pool.submit(LONG, outcomes.append, key=LONG)
    worker = pool.workers[0]
    pid = worker.proc.pid
    spin(loop, lambda: worker.job is not None)
    time.sleep(1.0)  # well into the computation
    assert cpu_seconds(pid) > 0.3
    waiter.cancel()
    assert LONG not in pool.inflight  # a new identical request would start afresh
    started = time.monotonic()
    spin(loop, lambda: worker.job is None, timeout=5)
    assert time.monotonic() - started < pool_cancel_grace()
    assert pool.stats["abandoned"] == pool.stats["stopped"] == 1 and pool.stats["killed_cancels"] == 0
    assert outcomes == []  # nobody to tell
    used = cpu_seconds(pid)
    time.sleep(0.5)
    assert cpu_seconds(pid) - used < 0.1  # the CPU is free again
    # The same process takes the next job and gets it right.
    pool.submit(("gamma", "0.5", 60), outcomes.append)
    spin(loop, lambda: outcomes)
    assert outcomes[0]["value"] == str(spouge.gamma("0.5", digits=60))
    assert [w.proc.pid for w in pool.workers] == [pid]


def pool_cancel_grace() -> float:
    from spouge.server import pool

    return pool.CANCEL_GRACE


def test_cancelled_queued_jobs_leave_the_queue_at_once(loop, make_pool):
    pool = make_pool(max_queue=3)
    running = pool.submit(LONG, lambda outcome: None)
    spin(loop, lambda: pool.busy == 1)
    queued = [pool.submit(("gamma", f"0.{i}1", 20000), lambda outcome: None) for i in range(3)]
    assert len(pool.queue) == 3
    with pytest.raises(Overloaded):
        pool.submit(("gamma", "0.77", 20000), lambda outcome: None)
    queued[0].cancel()
    queued[2].cancel()
    assert len(pool.queue) == 1 and pool.queue_bytes == next(iter(pool.queue)).size
    more = [pool.submit(("gamma", f"0.{i}2", 20000), lambda outcome: None) for i in range(2)]  # room again
    assert len(pool.queue) == 3
    for waiter in [running, queued[1], *more]:
        waiter.cancel()
    assert len(pool.queue) == 0 and pool.queue_bytes == 0 and not pool.inflight
    spin(loop, lambda: pool.busy == 0, timeout=5)


def test_the_queue_is_bounded_in_bytes(loop, make_pool):
    x = "0." + "3" * 19990  # ~20 KB of arguments per job
    pool = make_pool(max_queue=1000, max_queue_bytes=2 * (20_100 + JOB_OVERHEAD))
    running = pool.submit(LONG, lambda outcome: None)
    spin(loop, lambda: pool.busy == 1)
    waiters = [pool.submit(("gamma", x[:-1] + str(i), 16), lambda outcome: None) for i in range(2)]
    assert 2 * 20_000 < pool.queue_bytes <= pool.max_queue_bytes
    with pytest.raises(Overloaded):
        pool.submit(("gamma", x[:-1] + "9", 16), lambda outcome: None)
    waiters[0].cancel()
    waiters.append(pool.submit(("gamma", x[:-1] + "9", 16), lambda outcome: None))  # its bytes freed room
    for waiter in [running, *waiters]:
        waiter.cancel()
    assert pool.queue_bytes == 0 and len(pool.queue) == 0


def test_identical_jobs_in_flight_share_one_computation(loop, make_pool):
    pool = make_pool()
    job = ("gamma", "0.3", 3000)
    outcomes = [[] for _ in range(4)]
    waiters = [pool.submit(job, outcomes[i].append, key=job) for i in range(4)]
    assert pool.stats["submitted"] == 1 and pool.stats["shared"] == 3
    waiters[1].cancel()  # one client leaves: the others still wait for the same computation
    spin(loop, lambda: outcomes[0])
    expected = str(spouge.gamma("0.3", digits=3000))
    assert [len(o) for o in outcomes] == [1, 0, 1, 1]
    assert all(o[0]["value"] == expected for o in outcomes if o)
    assert pool.stats["completed"] == 1 and not pool.inflight


def test_the_deadline_counts_from_submission_and_covers_queued_jobs(loop, make_pool):
    pool = make_pool(timeout=0.5)
    outcomes = {}
    pool.submit(LONG, lambda outcome: outcomes.setdefault("running", (outcome, time.monotonic())))
    spin(loop, lambda: pool.busy == 1)
    submitted = time.monotonic()
    pool.submit(("gamma", "0.31", 30000), lambda outcome: outcomes.setdefault("queued", (outcome, time.monotonic())))
    spin(loop, lambda: len(outcomes) == 2, timeout=5)
    for outcome, _when in outcomes.values():
        assert isinstance(outcome, ComputeError) and outcome.kind == "timeout"
    assert outcomes["queued"][1] - submitted < 0.9  # not 0.5 s after it reached a worker
    assert len(pool.queue) == 0 and pool.stats["timeouts"] == 2


def test_cancels_racing_with_completion_never_hit_the_next_job(loop, make_pool):
    """A cancel that arrives just as its job finishes must not cancel the job sent next."""
    pool = make_pool()
    rng = random.Random(10)
    for i in range(60):
        # quick jobs (done before the cancel) and slow ones (a new coefficient table each: tens of ms, cancelled
        # mid-run); the C core computes 16-600 digits in microseconds, so slow must mean a cold high precision
        digits = rng.choice([16, 100, 2000 + 10 * i])
        waiter = pool.submit(("gamma", f"{i}.5", digits), lambda outcome: None, key=("race", i))
        spin(loop, lambda: pool.busy == 1)
        time.sleep(rng.uniform(0, 0.004))  # sometimes before, sometimes after the worker's answer
        waiter.cancel()
        outcomes = []
        pool.submit(("gamma", f"{i}.25", 40), outcomes.append, key=("next", i))
        spin(loop, lambda outcomes=outcomes: outcomes, timeout=10)
        assert outcomes[0]["value"] == str(spouge.gamma(f"{i}.25", digits=40)), (i, outcomes[0])
    assert 0 < pool.stats["stopped"] < pool.stats["abandoned"] == 60  # both sides of the race were run
    assert pool.stats["killed_cancels"] == 0 and pool.stats["crashes"] == 0
