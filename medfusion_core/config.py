"""Experiment configuration: an attrs schema loaded from YAML with cattrs.

Every error names the file and the dotted path of the field (``model.fusion.params.hidden``):
unknown keys (with "did you mean"), wrong types, and unknown component names (checked against
the registry by :func:`check_components`). Relative paths in ``data`` are resolved against the
config file's folder.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import attrs
import cattrs
import yaml
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from medfusion_core.errors import ComponentNotFoundError, ConfigError, MedFusionError


@attrs.frozen
class ComponentConfig:
    """A component chosen by name (``name`` or ``plugin:name``) with its keyword parameters."""

    name: str
    params: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class BackboneConfig:
    """Image backbone applied to every view; ``pretrained`` is a local weights file."""

    name: str = "resnet18"
    pretrained: str | None = None
    params: dict[str, Any] = attrs.field(factory=dict)
    attention: ComponentConfig | None = None
    grad_checkpointing: bool = False


@attrs.frozen
class TabularConfig:
    """MLP encoder for the preprocessed clinical vector."""

    hidden: list[int] = attrs.field(factory=lambda: [32])
    dropout: float = 0.1


@attrs.frozen
class HeadConfig:
    """Prediction head on top of the fused features."""

    hidden: list[int] = attrs.field(factory=list)
    dropout: float = 0.0


@attrs.frozen
class ModelConfig:
    """The multimodal model; ``modalities`` switches to an image-only or clinical-only model."""

    modalities: Literal["fused", "image", "clinical"] = "fused"
    backbone: BackboneConfig = attrs.field(factory=BackboneConfig)
    aggregator: ComponentConfig = attrs.field(factory=lambda: ComponentConfig("mean"))
    tabular: TabularConfig = attrs.field(factory=TabularConfig)
    fusion: ComponentConfig = attrs.field(factory=lambda: ComponentConfig("concat"))
    head: HeadConfig = attrs.field(factory=HeadConfig)
    attention_loss: ComponentConfig | None = None
    attention_loss_weight: float = 0.1


@attrs.frozen
class AugmentConfig:
    """Training-time augmentation; parameters are sampled in Python from the run's seed."""

    flip: bool = True
    rotate_degrees: float = 0.0
    crop_scale: float = 1.0
    intensity: float = 0.0


@attrs.frozen
class ImageConfig:
    """How images become tensors: size ``[H, W]`` or ``[D, H, W]``, channels, window, norm.

    ``color`` says what to do with a 2D image whose channels differ from ``channels`` (a colour
    file into a grayscale backbone or the reverse): ``convert`` (colour to luminance, grayscale
    repeated into every channel) or ``keep`` (the file's channels must equal ``channels``). Unset,
    such an image is refused with a message naming this option: never a silent guess."""

    size: list[int] = attrs.field(factory=lambda: [64, 64])
    channels: int = 1
    color: Literal["convert", "keep"] | None = None
    window: list[float] | None = None
    mean: list[float] = attrs.field(factory=lambda: [0.5])
    std: list[float] = attrs.field(factory=lambda: [0.25])
    augment: AugmentConfig = attrs.field(factory=AugmentConfig)


@attrs.frozen
class LoaderConfig:
    """Batching: ``threads`` fills batches in a main-process thread pool (native kernels when
    installed), ``dataloader`` uses torch DataLoader workers, ``auto`` picks threads."""

    backend: Literal["auto", "threads", "dataloader"] = "auto"
    batch_size: int = 16
    workers: int = 2


@attrs.frozen
class DataConfig:
    """The manifest and how to read it. With ``folds`` (k-fold cross-validation) the non-test
    patients are dealt into that many stratified folds and ``fold`` (default 0) is validation."""

    manifest: str
    patient_id: str = "patient_id"
    images: list[str] = attrs.field(factory=lambda: ["image"])
    numeric: list[str] = attrs.field(factory=list)
    categorical: list[str] = attrs.field(factory=list)
    label: str = "label"
    split: str | None = None
    mask: str | None = None
    subgroups: list[str] = attrs.field(factory=list)
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    folds: int | None = None
    fold: int | None = None
    image: ImageConfig = attrs.field(factory=ImageConfig)
    loader: LoaderConfig = attrs.field(factory=LoaderConfig)


@attrs.frozen
class TaskConfig:
    """What is predicted; ``classes`` names the classes of a classification task."""

    type: Literal["binary", "multiclass", "regression"] = "binary"
    classes: list[str] | None = None


@attrs.frozen
class EvaluationConfig:
    """Report settings: bootstrap resamples, threshold rule, decision-curve range, unimodal baselines."""

    bootstrap: int = 2000
    #: Threshold probabilities of the decision curve: ``[low, high]``, in steps of 0.01.
    decision_range: list[float] = attrs.field(factory=lambda: [0.01, 0.99])
    threshold: Literal["youden", "sensitivity"] = "youden"
    target_sensitivity: float = 0.9
    baselines: bool = True


@attrs.frozen
class ExperimentConfig:
    """A whole experiment: data, task, model, trainer and evaluation."""

    name: str
    data: DataConfig
    seed: int = 0
    task: TaskConfig = attrs.field(factory=TaskConfig)
    model: ModelConfig = attrs.field(factory=ModelConfig)
    trainer: ComponentConfig = attrs.field(factory=lambda: ComponentConfig("default"))
    evaluation: EvaluationConfig = attrs.field(factory=EvaluationConfig)
    runs_dir: str = "runs"


#: Where each component lives in the schema: dotted path -> component kind.
COMPONENT_FIELDS: dict[str, str] = {
    "model.backbone": "backbone",
    "model.backbone.attention": "attention",
    "model.aggregator": "aggregator",
    "model.fusion": "fusion",
    "model.attention_loss": "loss",
    "trainer": "trainer",
}


#: Component paths a unimodal model does not build (so they are not checked).
UNUSED_BY_MODALITIES: dict[str, frozenset[str]] = {
    "fused": frozenset(),
    "image": frozenset({"model.fusion"}),
    "clinical": frozenset(
        {
            "model.backbone",
            "model.backbone.attention",
            "model.aggregator",
            "model.fusion",
            "model.attention_loss",
        }
    ),
}


def _strict(kind: type) -> Any:
    def structure(value: Any, _type: type) -> Any:
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    return structure


def make_converter() -> cattrs.Converter:
    """A cattrs converter that forbids unknown keys and does not coerce between types."""
    converter = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    for kind in (int, float, str, bool):
        converter.register_structure_hook(kind, _strict(kind))
    return converter


CONVERTER = make_converter()


def _format_exception(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, ForbiddenExtraKeysError):
        known = [field.name for field in attrs.fields(exc.cl)]
        parts = []
        for extra in sorted(exc.extra_fields):
            close = difflib.get_close_matches(extra, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            parts.append(f"unknown field {extra!r}{hint}")
        return "; ".join(parts) + f"; allowed: {', '.join(known)}"
    if isinstance(exc, KeyError):
        return "required field is missing"
    if isinstance(exc, (TypeError, ValueError)) and str(exc):
        return str(exc)
    return f"invalid value, expected {getattr(type_, '__name__', type_)}"


def _dotted(path: str) -> str:
    return path.removeprefix("$").removeprefix(".") or "(top level)"


def structure_config(data: Any, source: str) -> ExperimentConfig:
    """Build an :class:`ExperimentConfig` from plain data and check its value ranges
    (:func:`range_problems`); ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a mapping of fields, got {type(data).__name__}")
    try:
        config = CONVERTER.structure(data, ExperimentConfig)
    except (ClassValidationError, IterableValidationError) as exc:
        messages = cattrs.transform_error(exc, path="$", format_exception=_format_exception)
        first = messages[0]
        message, _, path = first.rpartition(" @ ")
        more = f" (and {len(messages) - 1} more problem(s))" if len(messages) > 1 else ""
        raise ConfigError(f"{source}: {_dotted(path)}: {message}{more}") from exc
    problems = range_problems(config)
    if problems:
        raise ConfigError(f"{source}: {'; '.join(problems)}")
    return config


def range_problems(config: ExperimentConfig) -> list[str]:
    """Every field of ``config`` outside its range, as ``dotted.field: must be ..., got ...``
    (the component parameters, e.g. ``trainer.params.epochs``, are checked by their components)."""
    data, image, evaluation = config.data, config.data.image, config.evaluation
    augment, model = image.augment, config.model
    low, high = [*evaluation.decision_range, 0.0, 0.0][:2]
    window = image.window
    checks = [
        (
            "data.image.size",
            image.size,
            len(image.size) in (2, 3) and min(image.size, default=0) >= 1,
            "[H, W] or [D, H, W] of sizes >= 1",
        ),
        ("data.image.channels", image.channels, image.channels >= 1, ">= 1"),
        (
            "data.image.mean",
            image.mean,
            len(image.mean) in (1, image.channels),
            f"1 or data.image.channels ({image.channels}) values",
        ),
        (
            "data.image.std",
            image.std,
            len(image.std) in (1, image.channels) and min(image.std, default=0) > 0,
            f"1 or data.image.channels ({image.channels}) values > 0",
        ),
        (
            "data.image.window",
            window,
            window is None or (len(window) == 2 and window[1] > window[0]),
            "[low, high] with high > low",
        ),
        ("data.image.augment.crop_scale", augment.crop_scale, 0 < augment.crop_scale <= 1, "in (0, 1]"),
        ("data.image.augment.rotate_degrees", augment.rotate_degrees, augment.rotate_degrees >= 0, ">= 0"),
        ("data.image.augment.intensity", augment.intensity, augment.intensity >= 0, ">= 0"),
        ("data.loader.batch_size", data.loader.batch_size, data.loader.batch_size >= 1, ">= 1"),
        ("data.loader.workers", data.loader.workers, data.loader.workers >= 0, ">= 0"),
        ("data.folds", data.folds, data.folds is None or data.folds >= 2, ">= 2 (or unset)"),
        (
            "model.tabular.hidden",
            model.tabular.hidden,
            min(model.tabular.hidden, default=1) >= 1,
            "layer widths >= 1",
        ),
        ("model.head.hidden", model.head.hidden, min(model.head.hidden, default=1) >= 1, "layer widths >= 1"),
        (
            "evaluation.bootstrap",
            evaluation.bootstrap,
            evaluation.bootstrap >= 0,
            ">= 0 resamples (0: no CIs; 2000 by default)",
        ),
        (
            "evaluation.target_sensitivity",
            evaluation.target_sensitivity,
            0 < evaluation.target_sensitivity < 1,
            "in (0, 1)",
        ),
        (
            "evaluation.decision_range",
            evaluation.decision_range,
            len(evaluation.decision_range) == 2 and 0 < low < high < 1,
            "[low, high] with 0 < low < high < 1",
        ),
    ]
    return [f"{field}: must be {what}, got {value!r}" for field, value, ok, what in checks if not ok]


def _resolve_paths(config: ExperimentConfig, base: Path) -> ExperimentConfig:
    manifest = Path(config.data.manifest).expanduser()
    if not manifest.is_absolute():
        manifest = base / manifest
    data = attrs.evolve(config.data, manifest=str(manifest))
    backbone = config.model.backbone
    if backbone.pretrained and not Path(backbone.pretrained).is_absolute():
        backbone = attrs.evolve(backbone, pretrained=str(base / backbone.pretrained))
    model = attrs.evolve(config.model, backbone=backbone)
    return attrs.evolve(config, data=data, model=model)


def load_config(path: str | Path, *, check: bool = True) -> ExperimentConfig:
    """Read, validate and return the experiment config at ``path``.

    With ``check`` the component names and their parameters are checked against the installed
    plugins as well. Raises :class:`ConfigError` naming the file and field.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: {problem}") from None
    config = _resolve_paths(structure_config(data, str(path)), path.resolve().parent)
    if check:
        check_components(config, str(path))
    return config


def iter_components(config: ExperimentConfig) -> Iterator[tuple[str, str, ComponentConfig]]:
    """``(dotted path, kind, component)`` for every component the config names."""
    for path, kind in COMPONENT_FIELDS.items():
        value: Any = config
        for part in path.split("."):
            value = getattr(value, part) if value is not None else None
        if value is None:
            continue
        if isinstance(value, BackboneConfig):
            value = ComponentConfig(value.name, value.params)
        yield path, kind, value


def check_components(config: ExperimentConfig, source: str) -> None:
    """Check that every named component is installed and accepts the given parameters."""
    from medfusion_core.registry import get_registry

    registry = get_registry()
    unused = UNUSED_BY_MODALITIES[config.model.modalities]
    for path, kind, component in iter_components(config):
        if path in unused:
            continue
        try:
            spec = registry.resolve(kind, component.name)
        except ComponentNotFoundError as exc:
            from medfusion_core.catalogue import provider_hint

            raise ConfigError(f"{source}: {path}.name: {exc}{provider_hint(kind, component.name)}") from None
        except MedFusionError as exc:
            raise ConfigError(f"{source}: {path}.name: {exc}") from None
        if spec.params is None:
            continue
        for key, value in component.params.items():
            param = spec.params.get(key)
            if param is None:
                close = difflib.get_close_matches(key, list(spec.params), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                allowed = ", ".join(spec.params) or "none"
                raise ConfigError(
                    f"{source}: {path}.params.{key}: unknown parameter of {kind} "
                    f"{spec.name!r}; {hint}allowed: {allowed}"
                )
            if not param.accepts(value):
                expected = param.type + (f" in {list(param.choices)}" if param.choices else "")
                raise ConfigError(f"{source}: {path}.params.{key}: expected {expected}, got {value!r}")


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """Plain-data form of a config (what is saved as the run's resolved config)."""
    return CONVERTER.unstructure(config)
