"""``medfusion doctor``: environment, torch, plugin health and the kernel backend.

It reads torch's version from package metadata instead of importing it; ``--torch`` imports
torch to report devices (CUDA, MPS) and threads.
"""

from __future__ import annotations

import importlib.metadata as md
import platform
import sys

import click

from medfusion_core.commands._output import console, print_json


def _version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def _torch_runtime() -> dict[str, object]:
    import torch

    return {
        "cuda_available": torch.cuda.is_available(),
        "cuda_devices": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())],
        "mps_available": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
        "threads": torch.get_num_threads(),
    }


def diagnose(import_torch: bool) -> dict[str, object]:
    """Everything doctor reports, as plain data; ``problems`` lists what needs action."""
    from medfusion_core import __version__
    from medfusion_core.host import get_host
    from medfusion_core.kernels import backend_report
    from medfusion_core.registry import get_registry

    records = get_host().records()
    problems = [
        f"plugin {r.name} {r.status} at {r.where}: {r.error}"
        for r in records
        if r.status in ("failed", "incompatible")
    ]
    problems += [
        f"{kind} {name!r} registered by {' and '.join(owners)}: use '<plugin>:{name}' in configs"
        for kind, name, owners in get_registry().conflicts()
    ]
    torch_version = _version("torch")
    if torch_version is None:
        problems.append("torch is not installed: run the README's setup command")
    report: dict[str, object] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "executable": sys.executable,
        "medfusion_core": __version__,
        "torch": torch_version,
        "timm": _version("timm"),
        "onnxruntime": _version("onnxruntime"),
        "plugins": {r.name: r.status for r in records},
        "kernels": backend_report(),
        "problems": problems,
    }
    if import_torch and torch_version is not None:
        report["torch_runtime"] = _torch_runtime()
    return report


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--torch", "import_torch", is_flag=True, help="Import torch to report devices and threads.")
def command(as_json: bool, import_torch: bool) -> int:
    """Check the environment, torch, plugin health and kernel backend; exit 1 on problems."""
    report = diagnose(import_torch)
    if as_json:
        print_json(report)
        return 1 if report["problems"] else 0
    from medfusion_core.kinds.kernel import describe_accelerators

    out = console()
    for key in ("python", "platform", "executable", "medfusion_core", "torch", "timm", "onnxruntime"):
        out.print(f"{key:15} {report[key] or '[red]not installed[/]'}")
    if "torch_runtime" in report:
        for key, value in report["torch_runtime"].items():  # type: ignore[union-attr]
            out.print(f"{key:15} {value}")
    plugins = report["plugins"]
    ok = sum(1 for status in plugins.values() if status == "ok")  # type: ignore[union-attr]
    out.print(f"{'plugins':15} {ok} ok of {len(plugins)}")  # type: ignore[arg-type]
    kernels = report["kernels"]
    for line in describe_accelerators(kernels["accelerators"]):  # type: ignore[index]
        out.print(f"{'accelerator':15} {line}")
    for name, entry in kernels["kernels"].items():  # type: ignore[index]
        reason = f" (fallback: {entry['fallback_reason']})" if entry["fallback_reason"] else ""
        out.print(f"kernel {name:15} {entry['backend']}{reason}")
    for problem in report["problems"]:  # type: ignore[union-attr]
        out.print(f"[red]problem:[/] {problem}")
    if not report["problems"]:
        out.print("[green]no problems found[/]")
    return 1 if report["problems"] else 0
