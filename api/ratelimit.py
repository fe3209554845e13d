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


def hit(key) -> tuple[bool, int, int, int]:
    """Count one request of `key`: (allowed, limit, remaining, seconds until the window resets)."""
    item = RateLimitItemPerSecond(key.rate_limit, key.rate_limit_interval)
    redis, memory = _limiters()
    ids = (_namespace(), "api-key", str(key.pk))
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
    return allowed, key.rate_limit, max(0, remaining), max(1, int(round(reset_at - time.time())))


def clear():
    """Tests: forget this process's counts (memory, and this namespace's Redis keys)."""
    redis, memory = _limiters()
    memory.storage.reset()
    if redis is not None:
        client = redis.storage.get_connection()
        keys = list(client.scan_iter(match=f"*{_namespace()}/api-key/*", count=1000))
        if keys:
            client.delete(*keys)
