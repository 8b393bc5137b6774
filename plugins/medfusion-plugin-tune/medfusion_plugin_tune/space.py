"""The search space file of ``medfusion tune``: parameters at dotted config paths, the metric and
the pruner, validated against the experiment config schema before any trial runs.

```yaml
metric: val_auroc            # optional: the task's default validation metric
direction: maximize          # optional: minimize for *loss / *mae / *mse metrics
pruner: {name: median, n_startup_trials: 2}   # optional (median); name: none disables pruning
params:
  trainer.params.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
  trainer.params.epochs: {type: int, low: 1, high: 3}
  model.fusion.name: {type: categorical, choices: [concat, gated]}
```

Every error is one line naming the file and the entry (``params.trainer.params.lrr: unknown
parameter of trainer 'default'; did you mean 'lr'?``).
"""

from __future__ import annotations

import copy
import difflib
import typing
from pathlib import Path
from typing import Any

import attrs
import yaml

from medfusion_core.config import (
    COMPONENT_FIELDS,
    ExperimentConfig,
    check_components,
    config_to_dict,
    structure_config,
)
from medfusion_core.errors import ConfigError, MedFusionError

#: Validation metric tuned by default, per task type (the default trainer's monitors).
DEFAULT_METRIC = {"binary": "val_auroc", "multiclass": "val_accuracy", "regression": "val_loss"}
#: Metric name endings for which smaller is better.
LOWER_IS_BETTER = ("loss", "mae", "mse")
#: Keys of one parameter entry, per type.
ENTRY_KEYS = {
    "float": {"type", "low", "high", "log", "step"},
    "int": {"type", "low", "high", "log", "step"},
    "categorical": {"type", "choices"},
}
TOP_KEYS = ("metric", "direction", "pruner", "params")


@attrs.frozen
class Param:
    """One searched parameter: its dotted config path and Optuna distribution arguments."""

    path: str
    type: str
    low: Any = None
    high: Any = None
    log: bool = False
    step: Any = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """The value ``trial`` samples for this parameter (named by its path)."""
        if self.type == "categorical":
            return trial.suggest_categorical(self.path, list(self.choices))
        suggest = trial.suggest_float if self.type == "float" else trial.suggest_int
        kwargs: dict[str, Any] = {"log": self.log}
        if self.step is not None:
            kwargs["step"] = self.step
        return suggest(self.path, self.low, self.high, **kwargs)

    def candidates(self) -> list[Any]:
        """Values that must all fit the config schema: the bounds or every choice."""
        return list(self.choices) if self.type == "categorical" else [self.low, self.high]


@attrs.frozen
class SearchSpace:
    """A validated search space (see the module docstring)."""

    source: str
    params: tuple[Param, ...]
    metric: str
    direction: str
    pruner: dict[str, Any]

    def sample(self, trial: Any) -> dict[str, Any]:
        """``{path: value}`` sampled by ``trial``."""
        return {param.path: param.suggest(trial) for param in self.params}


def apply_values(config: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of the plain config dict with each dotted path set to its value."""
    result = copy.deepcopy(config)
    for path, value in values.items():
        node = result
        *parents, leaf = path.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    return result


def configure(base: ExperimentConfig, values: dict[str, Any], source: str) -> ExperimentConfig:
    """``base`` with ``values`` applied, structured and checked against the installed components."""
    config = structure_config(apply_values(config_to_dict(base), values), source)
    check_components(config, source)
    return config


def _hint(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"


def _component_params(base: ExperimentConfig, component_path: str) -> list[str] | None:
    """Parameter names the component at ``component_path`` of ``base`` declares (None: any)."""
    from medfusion_core.registry import get_registry

    value: Any = base
    for part in component_path.split("."):
        value = getattr(value, part, None)
    if value is None:
        return None
    spec = get_registry().resolve(COMPONENT_FIELDS[component_path], value.name)
    return None if spec.params is None else list(spec.params)


def check_path(base: ExperimentConfig, path: str) -> str | None:
    """Why ``path`` names no leaf field of the config schema (or a component parameter), or None."""
    kind: Any = ExperimentConfig
    walked: list[str] = []
    parts = path.split(".")
    for index, part in enumerate(parts):
        if not attrs.has(kind):
            return f"{'.'.join(walked)} has no fields"
        fields = {field.name: field for field in attrs.fields(attrs.resolve_types(kind))}
        if part not in fields:
            where = ".".join(walked) or "the config"
            return f"unknown field {part!r} of {where}{_hint(part, list(fields))}"
        walked.append(part)
        kind = _unoptional(fields[part].type)
        if part == "params" and ".".join(walked[:-1]) in COMPONENT_FIELDS:
            return _check_param(base, walked[:-1], parts[index + 1 :])
    if attrs.has(kind):
        names = ", ".join(field.name for field in attrs.fields(kind))
        return f"{path} is a section, not a value; name one of its fields: {names}"
    return None


def _check_param(base: ExperimentConfig, component: list[str], rest: list[str]) -> str | None:
    component_path = ".".join(component)
    if len(rest) != 1:
        return f"give one parameter name after {component_path}.params"
    known = _component_params(base, component_path)
    if known is None or rest[0] in known:
        return None
    value: Any = base
    for part in component:
        value = getattr(value, part)
    kind = COMPONENT_FIELDS[component_path]
    return f"unknown parameter {rest[0]!r} of {kind} {value.name!r}{_hint(rest[0], known)}"


def _unoptional(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return args[0] if type(None) in typing.get_args(annotation) and len(args) == 1 else annotation


def _param(source: str, path: str, entry: Any) -> Param:
    where = f"{source}: params.{path}"
    if not isinstance(entry, dict) or entry.get("type") not in ENTRY_KEYS:
        raise ConfigError(f"{where}: expected a mapping with type float, int or categorical")
    extra = sorted(set(entry) - ENTRY_KEYS[entry["type"]])
    if extra:
        allowed = sorted(ENTRY_KEYS[entry["type"]])
        raise ConfigError(f"{where}: unknown key {extra[0]!r}{_hint(extra[0], allowed)}")
    if entry["type"] == "categorical":
        choices = entry.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: choices: give a non-empty list")
        return Param(path, "categorical", choices=tuple(choices))
    number = float if entry["type"] == "float" else int
    low, high = entry.get("low"), entry.get("high")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
        raise ConfigError(f"{where}: low and high must be numbers")
    if number is int and not all(isinstance(v, int) for v in (low, high)):
        raise ConfigError(f"{where}: low and high of an int parameter must be integers")
    if low > high or (entry.get("log") and low <= 0):
        raise ConfigError(f"{where}: need low <= high (and low > 0 with log: true)")
    return Param(path, entry["type"], number(low), number(high), bool(entry.get("log")), entry.get("step"))


def load_space(path: str | Path, base: ExperimentConfig) -> SearchSpace:
    """Read and validate the search space at ``path`` against ``base``: every path names a config
    field, every bound and choice gives a config the schema and the installed components accept."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the search space ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML ({getattr(exc, 'problem', None) or exc})") from None
    source = str(path)
    if not isinstance(data, dict) or not isinstance(data.get("params"), dict) or not data["params"]:
        raise ConfigError(f"{source}: expected a mapping with a non-empty 'params' mapping")
    extra = sorted(set(data) - set(TOP_KEYS))
    if extra:
        raise ConfigError(f"{source}: unknown key {extra[0]!r}{_hint(extra[0], list(TOP_KEYS))}")
    params = []
    for dotted, entry in data["params"].items():
        problem = check_path(base, str(dotted))
        if problem:
            raise ConfigError(f"{source}: params.{dotted}: {problem}")
        param = _param(source, str(dotted), entry)
        for value in param.candidates():
            try:
                configure(base, {param.path: value}, "config")
            except MedFusionError as exc:
                raise ConfigError(f"{source}: params.{dotted}: {value!r} does not fit ({exc})") from None
        params.append(param)
    metric = str(data.get("metric") or DEFAULT_METRIC[base.task.type])
    default_direction = "minimize" if metric.endswith(LOWER_IS_BETTER) else "maximize"
    direction = data.get("direction", default_direction)
    if direction not in ("maximize", "minimize"):
        raise ConfigError(f"{source}: direction: expected maximize or minimize, got {direction!r}")
    pruner = data.get("pruner", {"name": "median"})
    if isinstance(pruner, str):
        pruner = {"name": pruner}
    if not isinstance(pruner, dict) or not isinstance(pruner.get("name"), str):
        raise ConfigError(f"{source}: pruner: expected a name or a mapping with 'name'")
    return SearchSpace(source, tuple(params), metric, direction, dict(pruner))
