"""Plugin hooks: the native kernels, named like the core's reference kernels.

Only import strings here: nothing compiled or heavy is imported when the plugin is discovered.
"""

from __future__ import annotations

from medfusion_core import ComponentSpec, hookimpl
from medfusion_core.kinds.kernel import KernelInfo

_KERNELS = {
    "bootstrap_auc": "Rust bootstrap AUROC/AUPRC: one sort, O(n) per resample, parallel over resamples",
    "preprocess_into": "Rust fused crop/resize/flip/window/normalise into a preallocated batch",
    "rotate_into": "Rust bilinear rotation about the image centre",
    "intensity_jitter": "Rust in-place x * scale + shift",
    "decode_png": "Rust PNG decoding (8/16-bit grey, RGB, RGBA) without the GIL; Pillow for the rest",
    "probe_pngs": "Rust full decode of many PNGs in parallel on the pool: each shape, for the file check",
    "fill_views": "Rust batch fill: decode, preprocess, rotate and jitter every view in parallel",
}


#: ``runtime_info`` reads the compiled module only, which imports no numpy.
_INFO = KernelInfo(runtime_info="medfusion_plugin_native:runtime_info")


@hookimpl
def medfusion_register_kernels() -> list[ComponentSpec]:
    """The accelerated kernels; each replaces the core reference of the same name."""
    return [
        ComponentSpec(name, "kernel", f"medfusion_plugin_native.kernels:{name}", summary, info=_INFO)
        for name, summary in _KERNELS.items()
    ]
