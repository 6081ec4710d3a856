"""The worker runtime: the driving side of the hexagon, which takes messages and runs their tasks.

One message's path through the thread pool:

- :mod:`alsek.worker.thread.pool`: the supervisor starts process groups and scales them with the
  load;
- :mod:`alsek.worker.thread.child`: the body of a group's process;
- :mod:`alsek.worker.thread.group`: its worker threads take messages from the feeder and run them
  (interrupted by the watchdog when they time out or are revoked);
- :mod:`alsek.worker.feeder`: the one thread per process that claims and acknowledges in batches;
- :class:`~alsek.domain.services.message_processor.MessageProcessor`: runs a task and settles its
  message.

The process pool (:mod:`alsek.worker.process`) runs each task in a fresh process forked from a
warm zygote (:mod:`~alsek.worker.process.zygote`), fed by the same feeder in its supervisor. Both pools share :mod:`~alsek.worker.pool` (the supervisor's loop and the start of
every child), :mod:`~alsek.worker.spec` (what a child is told), :mod:`~alsek.worker.lifecycle`
(start methods, the :class:`~alsek.worker.lifecycle.StopSignal`, signals, restarts),
:mod:`~alsek.worker.leases` (runs in progress, releasing messages) and
:mod:`~alsek.worker.watchdog` (heartbeats, timeouts, revocations).
"""
