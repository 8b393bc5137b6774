"""MedFusion exporters: ONNX, torch.export (.pt2) and TorchScript artifacts that carry their
preprocessing metadata and are verified against eager PyTorch on every export."""

__version__ = "0.1.0"
