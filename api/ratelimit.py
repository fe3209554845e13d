"""Requests per API key and window, as the platform publishes it (1 000 per 600 s by default,
per key as staff set it): a fixed window counted atomically in Redis (the `limits` library), or
in this process when no Redis is configured — or while Redis is unreachable, so that an outage
neither answers 500 nor switches the limit off."""
import logging
import time
from functools import lru_cache

from django.conf import settings
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import FixedWindowRateLimiter

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _limiters() -> tuple:
    url = getattr(settings, "API_RATE_LIMIT_REDIS_URL", "") or ""
    memory = FixedWindowRateLimiter(MemoryStorage())
    redis = FixedWindowRateLimiter(RedisStorage(url, socket_connect_timeout=1, socket_timeout=2)) if url else None
    return redis, memory


def _namespace() -> str:
    return settings.CACHE_KEY_PREFIX  # (tests: one per pytest process, cleared around every test)


def _count(item, *ids) -> tuple[bool, int, int]:
    redis, memory = _limiters()
    limiter = redis or memory
    try:
        allowed = limiter.hit(item, *ids)
        reset_at, remaining = limiter.get_window_stats(item, *ids)
    except Exception:  # Redis unreachable: count here meanwhile
        if limiter is memory:
            raise
        log.warning("rate limit: Redis unreachable, counting in this process", exc_info=True)
        allowed = memory.hit(item, *ids)
        reset_at, remaining = memory.get_window_stats(item, *ids)
    return allowed, max(0, remaining), max(1, int(round(reset_at - time.time())))


def hit(key) -> tuple[bool, int, int, int]:
    """Count one request of `key`: (allowed, limit, remaining, seconds until the window resets)."""
    allowed, remaining, reset = _count(RateLimitItemPerSecond(key.rate_limit, key.rate_limit_interval),
                                       _namespace(), "api-key", str(key.pk))
    return allowed, key.rate_limit, remaining, reset


# Refused sign-ins (a wrong client secret or refresh token): per address and per client id, so that
# guessing is slow; a key's own limit is not used for them (anyone may send its client id).
FAILURES_PER_ADDRESS = (10, 600)
FAILURES_PER_CLIENT = (100, 600)


def _failure_items():
    return (("address", RateLimitItemPerSecond(*FAILURES_PER_ADDRESS)),
            ("client", RateLimitItemPerSecond(*FAILURES_PER_CLIENT)))


def failures_exceeded(address: str, client_id: str) -> int:
    """Seconds to wait when this address or client id has failed too often lately, else 0."""
    redis, memory = _limiters()
    limiter = redis or memory
    wait = 0
    for kind, item in _failure_items():
        ident = address if kind == "address" else client_id
        if not ident:
            continue
        try:
            allowed = limiter.test(item, _namespace(), "api-key/failures", kind, ident)
            reset_at, _ = limiter.get_window_stats(item, _namespace(), "api-key/failures", kind, ident)
        except Exception:
            allowed, reset_at = memory.test(item, _namespace(), "api-key/failures", kind, ident), time.time()
        if not allowed:
            wait = max(wait, max(1, int(round(reset_at - time.time()))))
    return wait


def failed(address: str, client_id: str) -> None:
    for kind, item in _failure_items():
        ident = address if kind == "address" else client_id
        if ident:
            _count(item, _namespace(), "api-key/failures", kind, ident)


def clear():
    """Tests: forget this process's counts (memory, and this namespace's Redis keys)."""
    redis, memory = _limiters()
    memory.storage.reset()
    if redis is not None:
        client = redis.storage.get_connection()
        keys = list(client.scan_iter(match=f"*{_namespace()}/api-key/*", count=1000))
        if keys:
            client.delete(*keys)
