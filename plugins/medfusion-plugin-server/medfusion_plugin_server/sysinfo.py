"""System metrics for ``/api/system`` and its stream: CPU, memory, disk of the runs folder and,
where present, GPUs (NVML through ``pynvml`` when installed, else ``torch.cuda`` if torch is
already imported or CUDA is available)."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

import psutil


def _nvml_gpus() -> list[dict[str, Any]] | None:
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver: not an error of ours
        return None
    gpus = []
    for index in range(pynvml.nvmlDeviceGetCount()):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
        gpus.append(
            {
                "index": index,
                "name": str(pynvml.nvmlDeviceGetName(handle)),
                "utilization_percent": float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu),
                "memory_used_bytes": int(memory.used),
                "memory_total_bytes": int(memory.total),
            }
        )
    return gpus


def _torch_gpus() -> list[dict[str, Any]]:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return []
    gpus = []
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        gpus.append(
            {
                "index": index,
                "name": torch.cuda.get_device_name(index),
                "utilization_percent": None,
                "memory_used_bytes": int(total - free),
                "memory_total_bytes": int(total),
            }
        )
    return gpus


def gpus() -> list[dict[str, Any]]:
    """One entry per visible GPU (empty without any)."""
    found = _nvml_gpus()
    return found if found is not None else _torch_gpus()


def snapshot(runs_dir: Path) -> dict[str, Any]:
    """CPU, memory, disk (of the runs folder's file system) and GPUs, now."""
    memory = psutil.virtual_memory()
    folder = runs_dir if runs_dir.exists() else Path(runs_dir.anchor or ".")
    disk = shutil.disk_usage(folder)
    return {
        "time": time.time(),
        "cpu_percent": psutil.cpu_percent(interval=None),
        "cpu_count": psutil.cpu_count(),
        "memory_used_bytes": int(memory.total - memory.available),
        "memory_total_bytes": int(memory.total),
        "disk_used_bytes": int(disk.used),
        "disk_total_bytes": int(disk.total),
        "gpus": gpus(),
    }
