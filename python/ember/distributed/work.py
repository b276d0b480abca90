"""Work: the handle an async collective returns. wait() polls the backend's request against a deadline,
so a rank whose peers never arrive raises DistTimeoutError instead of blocking forever."""
import os
import time

# a peer that is still computing is waited for with short sleeps after _SPIN_S, so a waiting rank
# leaves the core to computing ones; before it, tight polling keeps the latency low (MPI progresses
# a non-blocking collective only inside MPI calls, here Test)
_SPIN_S = 0.02
_NAP_S = 0.0005
# and every _YIELD_EVERY polls it yields the core (as MPICH's own waits do), so that a peer rank or
# another process sharing the core can run; yielding at every poll would slow an idle machine
_YIELD_EVERY = 16
_yield = getattr(os, "sched_yield", lambda: None)


class DistTimeoutError(RuntimeError):
    """A collective did not complete within the process group's timeout."""


class Work:
    """A collective in flight. wait() blocks until it is done (or raises DistTimeoutError); is_completed() polls.

    Example:
        work = dist.all_reduce(t, async_op=True)
        ...  # compute while the reduction proceeds
        work.wait()
    """

    def __init__(self, test, timeout, what, on_done=None):
        self._test, self._timeout, self._what, self._on_done = test, timeout, what, on_done
        self._done = False
        self.started_at = time.perf_counter()
        self.completed_at = None

    def _finish(self):
        self._done = True
        self.completed_at = time.perf_counter()
        if self._on_done is not None:
            on_done, self._on_done = self._on_done, None
            on_done()

    def is_completed(self):
        """True once the collective has finished (drives the backend's progress once)."""
        if not self._done and self._test():
            self._finish()
        return self._done

    def wait(self, timeout=None):
        """Block until the collective has finished; its results are then in the tensors. Returns True.

        Args:
            timeout: seconds (default: the process group's timeout).
        """
        if self._done:
            return True
        limit = self._timeout if timeout is None else float(timeout)
        start, polls = time.monotonic(), 0
        while not self._test():
            polls += 1
            if polls % _YIELD_EVERY == 0:
                _yield()
            waited = time.monotonic() - start
            if waited > limit:
                raise DistTimeoutError(
                    f"{self._what} did not complete within {limit:g} s: another rank is late, stuck or has "
                    "failed (raise init_process_group(timeout=...) if it is only slow)")
            if waited > _SPIN_S:
                time.sleep(_NAP_S)
        self._finish()
        return True


def completed(what=""):
    """A Work that is already done (a collective that needed no communication)."""
    w = Work(lambda: True, 0.0, what)
    w._finish()
    return w
