"""ember.cpu: the host memory pool behind the cpu and cuda-emu devices.

Kernel outputs, gradients and optimizer state of 256 KiB and more come from a C++ caching
allocator (csrc/cpu/host_pool.h): a block freed by one step is reused by the next, so a
training step costs no fresh page faults once warm. `EMBER_CPU_POOL=0` turns it off (NumPy
allocates everything); `EMBER_CPU_POOL_MB` caps the bytes it holds (default: a quarter of
physical memory). The cuda device uses CuPy's pool instead.

    import ember as em
    em.cpu.memory_stats()   # {'allocated': ..., 'cached': ..., 'peak': ..., 'hits': ..., ...}
    em.cpu.empty_cache()    # returns the cached blocks to the OS
"""
import os

_KEYS = ("allocated", "cached", "peak", "limit", "hits", "misses")


def _module():
    if os.environ.get("EMBER_CPU_POOL", "1") == "0":
        return None
    try:
        from . import _cpu
    except ImportError:
        return None
    return _cpu


def is_pool_enabled():
    """True when host arrays come from the pool (ember._cpu is built and EMBER_CPU_POOL is not 0)."""
    return _module() is not None


def memory_stats():
    """The pool's counters as a dict.

    Returns:
        allocated (bytes of blocks in use), cached (bytes of free blocks kept for reuse),
        peak (most bytes in use since start or reset_peak_memory_stats), limit (the cap on
        allocated + cached), hits / misses (allocations served from the cache / freshly
        mapped), hit_rate (hits / (hits + misses), None before any), enabled.
    """
    m = _module()
    stats = dict.fromkeys(_KEYS, 0) if m is None else m.pool_stats()
    total = stats["hits"] + stats["misses"]
    stats["hit_rate"] = stats["hits"] / total if total else None
    stats["enabled"] = m is not None
    return stats


def empty_cache():
    """Returns every cached (free) block to the OS; arrays in use keep theirs."""
    m = _module()
    if m is not None:
        m.pool_empty_cache()


def reset_peak_memory_stats():
    """Starts `peak` again from the bytes in use now."""
    m = _module()
    if m is not None:
        m.pool_reset_peak()
