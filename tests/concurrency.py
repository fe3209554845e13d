"""Run the same call from several threads at once, each on its own database connection, released
together by a barrier: the way two workers (or a double click) hit the same rows."""
import threading

from django.db import connections


def at_once(fn, times=2, timeout=120):
    """Call `fn()` `times` times concurrently; return the results; raise the first error."""
    barrier, errors, results = threading.Barrier(times), [], []

    def run():
        try:
            barrier.wait(timeout=30)
            results.append(fn())
        except Exception as exc:  # pragma: no cover - re-raised below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    if errors:
        raise errors[0]
    return results
