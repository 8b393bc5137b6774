"""MedFusion compression exporters: INT8 and FP16 ONNX, channel pruning; verified by AUROC."""
