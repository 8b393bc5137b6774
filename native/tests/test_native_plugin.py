"""Registration through the kernels hook, backend selection, threads and fork safety."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

import medfusion_plugin_native
import medfusion_plugin_native.hooks
import numpy as np
import pytest
from medfusion_plugin_native import kernels as native

from medfusion_core import kernels
from medfusion_core.errors import MedFusionError
from medfusion_core.kinds.kernel import describe_accelerators

KERNEL_NAMES = (
    "bootstrap_auc",
    "decode_png",
    "fill_views",
    "intensity_jitter",
    "preprocess_into",
    "probe_pngs",
    "rotate_into",
)


def test_hook_registers_every_core_kernel_by_import_string(medfusion_host) -> None:
    record = medfusion_host.register(medfusion_plugin_native.hooks, "medfusion-plugin-native")
    assert record.status == "ok"
    assert sorted(record.components()["kernel"]) == sorted(KERNEL_NAMES)
    kernels.reset_kernels()
    report = kernels.backend_report()["kernels"]
    for name in KERNEL_NAMES:
        assert kernels.get_kernel(name) is getattr(native, name)
        assert report[name]["backend"] == "medfusion_plugin_native.kernels"
    runtime = kernels.backend_report()["accelerators"]["medfusion_plugin_native"]
    assert runtime["version"] == medfusion_plugin_native.__version__
    assert runtime["threads"] == medfusion_plugin_native.threads() >= 1


@pytest.mark.parametrize(
    ("command", "prefix"), [("doctor", "accelerator     "), ("list-plugins", "accelerator: ")]
)
def test_cli_reports_version_and_threads_of_the_native_backend(command, prefix) -> None:
    env = {**os.environ, "MEDFUSION_NATIVE_THREADS": "3", "COLUMNS": "200"}
    env.pop("MEDFUSION_KERNELS", None)
    result = subprocess.run(
        [sys.executable, "-m", "medfusion_core", command],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    expected = f"{prefix}medfusion_plugin_native {medfusion_plugin_native.__version__}, 3 threads"
    assert expected in result.stdout.splitlines()


def test_accelerator_lines_name_errors_and_extra_fields() -> None:
    lines = describe_accelerators(
        {
            "b_pkg": {"error": "RuntimeError: no GPU"},
            "a_pkg": {"threads": 1, "version": "2.0", "simd": "avx2"},
        }
    )
    assert lines == ["a_pkg 2.0, 1 thread, simd avx2", "b_pkg: runtime_info() failed: RuntimeError: no GPU"]


def test_reference_is_forced_by_environment(medfusion_host, monkeypatch) -> None:
    medfusion_host.register(medfusion_plugin_native.hooks, "medfusion-plugin-native")
    kernels.reset_kernels()
    monkeypatch.setenv("MEDFUSION_KERNELS", "reference")
    assert kernels.get_kernel("preprocess_into") is kernels.REFERENCE["preprocess_into"]
    assert kernels.backend_report()["kernels"]["bootstrap_auc"]["backend"] == "reference"


def test_hooks_module_imports_nothing_compiled() -> None:
    code = (
        "import sys, medfusion_plugin_native.hooks as h; h.medfusion_register_kernels(); "
        "print('medfusion_plugin_native._native' in sys.modules, 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_thread_count_comes_from_the_environment_and_version_matches() -> None:
    code = "import medfusion_plugin_native as n; print(n.threads(), n.version())"
    env = {**os.environ, "MEDFUSION_NATIVE_THREADS": "3"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert result.stdout.split() == ["3", medfusion_plugin_native.__version__]


def test_set_threads_changes_the_pool_and_results_do_not_depend_on_it() -> None:
    y = np.arange(400) % 2
    scores = np.sin(np.arange(400.0))
    try:
        medfusion_plugin_native.set_threads(1)
        assert medfusion_plugin_native.threads() == 1
        one = native.bootstrap_auc(y, scores, 64, 5)
        medfusion_plugin_native.set_threads(2)
        assert medfusion_plugin_native.threads() == 2
        two = native.bootstrap_auc(y, scores, 64, 5)
    finally:
        medfusion_plugin_native.set_threads(None)
    np.testing.assert_array_equal(one[0], two[0])
    with pytest.raises(MedFusionError, match="at least 1"):
        medfusion_plugin_native.set_threads(0)


def _work() -> tuple[np.ndarray, np.ndarray]:
    """Exercise the pool: a parallel bootstrap and a parallel batch preprocess."""
    rng = np.random.default_rng(0)
    roc, _ = native.bootstrap_auc(rng.integers(0, 2, 300), rng.random(300), 32, 1)
    srcs = [rng.integers(0, 255, (40, 40), dtype=np.uint8) for _ in range(4)]
    out = np.empty((4, 3, 16, 16), np.float32)
    native.preprocess_batch_into(srcs, out)
    return roc, out


def _child(queue: multiprocessing.Queue) -> None:
    roc, out = _work()
    queue.put((roc, out))


def test_kernels_work_in_a_forked_child_after_use_in_the_parent() -> None:
    medfusion_plugin_native.set_threads(2)
    try:
        expected = _work()  # the parent's pool now exists with live threads
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_child, args=(queue,))
        child.start()
        roc, out = queue.get(timeout=60)
        child.join(timeout=60)
    finally:
        medfusion_plugin_native.set_threads(None)
    assert child.exitcode == 0
    np.testing.assert_array_equal(roc, expected[0])
    np.testing.assert_array_equal(out, expected[1])
