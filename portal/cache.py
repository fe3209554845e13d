"""Django's cache on Redis that keeps working while Redis is down.

The cache holds the sign-in limits (accounts/signin_limits.py, allauth's rate limits). With a
plain RedisCache an unreachable Redis makes every cache call raise, so every sign-in, password
reset and sign-up POST answered 500. Here a Redis error switches this process to a local-memory
cache for `RETRY_AFTER` seconds (logged as an error on the `portal.cache` logger), then Redis is
tried again. So during an outage sign-ins keep working and the limits still apply — counted per
worker process instead of shared (at most "number of workers" times the limits) — rather than
failing open (no limits) or closed (nobody signs in). docs/security.md ("Where the counters live").
"""
from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

logger = logging.getLogger("portal.cache")

RETRY_AFTER = 10  # seconds on local memory before Redis is tried again

# Per process, not per backend instance: Django creates a cache backend per thread, and the
# fallback counters and the "Redis is down" state must be the same for every request of a worker.
_redis_down_until: dict[str, float] = {}
_lock = threading.Lock()


def _with_fallback(name: str):
    redis_method = getattr(RedisCache, name)

    def method(self, *args, **kwargs):
        if time.monotonic() >= _redis_down_until.get(self._server, 0.0):
            try:
                return redis_method(self, *args, **kwargs)
            except RedisError as exc:
                with _lock:
                    _redis_down_until[self._server] = time.monotonic() + RETRY_AFTER
                logger.error("Redis cache unavailable (%s): this process uses local memory for %ss",
                             exc, RETRY_AFTER)
        return getattr(self._fallback, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"RedisCache.{name}, or local memory while Redis is unreachable."
    return method


class FallbackRedisCache(RedisCache):
    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        options.setdefault("retry", Retry(NoBackoff(), 1))  # one quick retry, not seconds of back-off
        super().__init__(server, {**params, "OPTIONS": options})
        self._server = str(server)
        local = {k: v for k, v in params.items() if k in {"KEY_PREFIX", "VERSION", "KEY_FUNCTION", "TIMEOUT"}}
        # LocMemCache keeps its data per name, process-wide: every thread's backend shares it
        self._fallback = LocMemCache(f"redis-fallback:{server}", local)

    for _name in ("add", "get", "set", "touch", "delete", "get_many", "has_key", "incr",
                  "set_many", "delete_many", "clear"):
        locals()[_name] = _with_fallback(_name)
    del _name
