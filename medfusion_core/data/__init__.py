"""The data layer: manifest, reader lookup, labels, tabular preprocessing, splits and batch loaders.

Typical use::

    from medfusion_core.data import prepare_data

    data = prepare_data(config)                 # manifest + labels + splits + fitted clinical data
    train = data.loader("train")                # BatchLoader (threads or dataloader backend)
    for batch in train.iter_batches(epoch=0):   # dicts in the agreed Batch format
        ...
"""

from __future__ import annotations

from medfusion_core.data.dataset import PreparedData, prepare_data
from medfusion_core.data.labels import EncodedLabels, encode_labels
from medfusion_core.data.loader import BatchLoader
from medfusion_core.data.manifest import Manifest, load_manifest
from medfusion_core.data.readers import read_image
from medfusion_core.data.splits import assign_splits, kfold
from medfusion_core.data.tabular import TabularPreprocessor, clinical_present

__all__ = [
    "BatchLoader",
    "EncodedLabels",
    "Manifest",
    "PreparedData",
    "TabularPreprocessor",
    "assign_splits",
    "clinical_present",
    "encode_labels",
    "kfold",
    "load_manifest",
    "prepare_data",
    "read_image",
]
