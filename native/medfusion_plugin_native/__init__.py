"""MedFusion native accelerator: Rust versions of the core's image and bootstrap kernels.

Importing this package is cheap; the compiled module ``medfusion_plugin_native._native`` is
loaded on first use of a kernel. The kernels are registered with the core by
:mod:`medfusion_plugin_native.hooks` and reached through ``medfusion_core.kernels.get_kernel``.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "runtime_info", "set_threads", "threads", "version"]


def threads() -> int:
    """Threads of this process's kernel pool (``MEDFUSION_NATIVE_THREADS``, default: all cores)."""
    from medfusion_plugin_native import _native

    return int(_native.threads())


def set_threads(count: int | None = None) -> None:
    """Use ``count`` pool threads from now on in this process (``None``: back to the default)."""
    from medfusion_plugin_native import _native

    if count is not None and count < 1:
        from medfusion_core.errors import ConfigError

        raise ConfigError(f"set_threads: thread count must be at least 1, got {count}")
    _native.set_threads(count)


def version() -> str:
    """Version of the compiled Rust crate (differs from ``__version__`` only in a stale build)."""
    from medfusion_plugin_native import _native

    return str(_native.version())


def runtime_info() -> dict[str, object]:
    """Version and thread count, shown by ``medfusion doctor`` (via ``kernels.backend_report``)."""
    return {"version": version(), "threads": threads()}
