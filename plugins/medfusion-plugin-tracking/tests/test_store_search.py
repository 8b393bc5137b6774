"""The run filter language and ordering, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from medfusion_plugin_tracking.errors import TrackingError
from medfusion_plugin_tracking.search import parse_filter
from medfusion_plugin_tracking.store import TrackingStore

RUNS = [
    # name, experiment, backbone, lr, val_auroc, status
    ("swin-a", "chest", "swin_tiny", 0.001, 0.86, "finished"),
    ("swin-b", "chest", "swin_tiny", 0.01, 0.78, "finished"),
    ("res-a", "chest", "resnet18", 0.001, 0.91, "failed"),
    ("res-b", "skin", "resnet18", 0.001, 0.65, "running"),
]


@pytest.fixture
def store(store_url: str):
    with TrackingStore(store_url) as opened:
        for index, (name, experiment, backbone, lr, auroc, status) in enumerate(RUNS):
            run_id = opened.create_run(name, experiment=experiment, start_time=1000.0 + index)
            opened.log_params(run_id, {"model.backbone.name": backbone, "optim.lr": lr, "epochs": 10})
            opened.log_metrics(run_id, [("val_auroc", auroc - 0.1, 1, 1.0), ("val_auroc", auroc, 2, 2.0)])
            opened.set_tags(run_id, {"owner": "ana" if index % 2 else "ben"})
            if status != "running":
                opened.set_status(run_id, status)
        yield opened


def names(runs) -> list[str]:
    return [run.name for run in runs]


def test_metric_and_param_expressions(store: TrackingStore) -> None:
    found = store.search_runs("metrics.val_auroc > 0.8 and params.model.backbone.name = 'swin_tiny'")
    assert names(found) == ["swin-a"]
    assert names(store.search_runs("metrics.val_auroc >= 0.78", order_by=["metrics.val_auroc desc"])) == [
        "res-a",
        "swin-a",
        "swin-b",
    ]
    assert names(
        store.search_runs("params.optim.lr = 0.001 and metrics.val_auroc < 0.9", order_by=["name"])
    ) == [
        "res-b",
        "swin-a",
    ]
    assert names(store.search_runs('params.model.backbone.name != "swin_tiny"', order_by=["name"])) == [
        "res-a",
        "res-b",
    ]
    assert names(store.search_runs("params.epochs = 10 and tags.owner = 'ana'", order_by=["name"])) == [
        "res-b",
        "swin-b",
    ]


def test_attribute_filters_and_arguments(store: TrackingStore) -> None:
    assert names(store.search_runs("status = 'finished'", order_by=["name"])) == ["swin-a", "swin-b"]
    assert names(store.search_runs(experiment="skin")) == ["res-b"]
    assert names(store.search_runs("experiment = 'chest'", status="failed")) == ["res-a"]
    assert names(store.search_runs("start_time > 1001.5")) == ["res-b", "res-a"]  # newest first by default
    assert names(store.search_runs(order_by=["metrics.val_auroc asc"], limit=2)) == ["res-b", "swin-b"]
    assert store.search_runs("metrics.val_auroc > 0.99") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.val_aurco > 0.8", "filter: no run has metric 'val_aurco'; did you mean val_auroc?"),
        ("params.model.backbone.nmae = 'swin_tiny'", "no run has param 'model.backbone.nmae'; did you mean"),
        ("metric.val_auroc > 0.8", "filter: unknown field 'metric.val_auroc'"),
        ("metrics.val_auroc > 'high'", "compares with a number"),
        ("params.optim.lr > 0.001", "compares with = or != only"),
        ("metrics.val_auroc > 0.8 or status = 'failed'", "only 'and' joins clauses"),
        ("metrics.val_auroc >", "expected FIELD OP VALUE"),
        ("metrics.val_auroc > 0.8 and", "a clause must follow 'and'"),
        ("metrics.val_auroc ~ 0.8", "cannot read"),
    ],
)
def test_bad_filters_are_one_line_errors(store: TrackingStore, text: str, message: str) -> None:
    with pytest.raises(TrackingError) as error:
        store.search_runs(text)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_order_by(store: TrackingStore) -> None:
    with pytest.raises(TrackingError, match=r"use metrics\.<key>"):
        store.search_runs(order_by=["loss"])
    with pytest.raises(TrackingError, match="asc or desc"):
        store.search_runs(order_by=["name sideways"])


def test_parse_filter_values() -> None:
    assert parse_filter("") == []
    assert parse_filter("metrics.fused/val-auroc<1") == [("metrics.fused/val-auroc", "<", 1.0)]
    assert parse_filter("metrics.a>=-1e-3 AND name='x y'") == [
        ("metrics.a", ">=", -0.001),
        ("name", "=", "x y"),
    ]


def test_search_runs_json_is_the_listing_and_encodes_only_changed_runs(
    store: TrackingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from medfusion_plugin_tracking import listing

    def as_json(**query) -> list:
        return json.loads(store.search_runs_json(**query))

    everything = [run.to_dict() for run in store.search_runs()]
    assert as_json() == everything
    assert as_json(limit=2, offset=1) == everything[1:3]
    assert as_json(filter="metrics.val_auroc > 0.8", order_by=["name"]) == [
        run.to_dict() for run in store.search_runs("metrics.val_auroc > 0.8", order_by=["name"])
    ]
    live = next(run.id for run in store.search_runs() if run.name == "res-b")
    decoded = []
    real = listing._run_info
    monkeypatch.setattr(listing, "_run_info", lambda row: decoded.append(row[1]) or real(row))
    store.search_runs_json()
    assert decoded == []  # every row was seen before
    store.log_metrics(live, [("val_auroc", 0.5, 3, 3.0)])
    changed = as_json()
    assert decoded == ["res-b"]
    assert [run["metrics"]["val_auroc"] for run in changed if run["name"] == "res-b"] == [0.5]
    assert changed == [run.to_dict() for run in store.search_runs()]
