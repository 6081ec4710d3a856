"""The demo: an embedded Redis, a worker pool, a batch of example tasks, a progress bar, results.

Run it with ``make demo`` (or ``python -m examples.demo``). Nothing needs to be running: it starts
its own redis-server on a free port, starts ``alsek thread-pool examples.tasks`` against it, submits
the batch, shows progress until every message reached a final status, prints the results and
stops everything cleanly (SIGTERM to the pool, then the server).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from alsek import Message
from alsek.adapters.redis.server import RedisServer

BATCH = 40
TIMEOUT_S = 60
BAR = 40


def start_pool(url: str) -> subprocess.Popen[bytes]:
    """``alsek thread-pool examples.tasks`` in a child process, logging warnings only."""
    command = [
        sys.executable, "-m", "alsek.cli.main", "thread-pool", "examples.tasks",
        "--n_threads", "8", "--n_processes", "2", "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, env={**os.environ, "ALSEK_REDIS_URL": url})


def submit(tasks: Any) -> list[tuple[str, Any]]:
    """The batch: labelled messages of every kind."""
    batch = [(f"add({i}, {i})", tasks.add.generate(args=(i, i), priority=5)) for i in range(BATCH)]
    batch.append(("shout('priority')", tasks.shout.generate(args=("priority",), priority=-5)))
    batch.append(("flaky()", tasks.flaky.generate()))
    head = tasks.fetch.generate(
        args=(7,),
        callback=(tasks.square.defer().generate(), tasks.describe.defer().generate()),
    )
    batch.append(("fetch(7) -> square -> describe", head))
    return batch


def finished(tasks: Any, batch: list[tuple[str, Any]]) -> int:
    """How many messages of the batch (a chain counts when its last link is done) are final."""
    done = 0
    for _, message in batch:
        last = message.descendant_uuids[-1] if message.descendant_uuids else message.uuid
        status = tasks.statuses.get(Message(task_name=message.task_name, uuid=last))
        done += status.terminal
    return done


def progress(done: int, total: int, started: float) -> None:
    filled = BAR * done // total
    bar = "#" * filled + "." * (BAR - filled)
    sys.stdout.write(f"\r[{bar}] {done}/{total}  {time.monotonic() - started:4.1f} s")
    sys.stdout.flush()


def show_results(tasks: Any, batch: list[tuple[str, Any]]) -> None:
    print("\nResults:")
    for label, message in batch[-3:] + batch[:3]:
        value = tasks.results.get(message, descendants=bool(message.descendant_uuids), keep=True)
        print(f"  {label:34s} -> {value}")
    print(f"  ... and {len(batch) - 6} more add() results")

    def written(message: Any) -> int:
        return int(tasks.results.get(message, keep=True, with_metadata=True)["timestamp"])

    shout_at = written(batch[BATCH][1])
    ahead = sum(written(message) < shout_at for _, message in batch[:BATCH])
    print(f"shout('priority') was submitted after all {BATCH} add() calls and finished "
          f"ahead of {BATCH - ahead} of them (priority -5 beats 5 within a queue).")  # fmt: skip


def main() -> int:
    with RedisServer() as server:
        os.environ["ALSEK_REDIS_URL"] = server.url
        from examples import tasks  # the broker reads ALSEK_REDIS_URL

        print(f"Redis at {server.url}; starting `alsek thread-pool examples.tasks`...")
        pool = start_pool(server.url)
        try:
            batch = submit(tasks)
            started = time.monotonic()
            print(f"Submitted {len(batch)} messages (retries, priorities and a callback chain).")
            while (done := finished(tasks, batch)) < len(batch):
                progress(done, len(batch), started)
                if time.monotonic() - started > TIMEOUT_S or pool.poll() is not None:
                    print("\nThe demo did not finish in time.")
                    return 1
                time.sleep(0.1)
            progress(done, len(batch), started)
            show_results(tasks, batch)
        finally:
            pool.send_signal(signal.SIGTERM)
            code = pool.wait(30)
        print(f"Worker pool stopped (exit code {code}); Redis stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
