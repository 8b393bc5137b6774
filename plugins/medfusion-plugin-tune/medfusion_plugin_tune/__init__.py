"""MedFusion hyperparameter search: ``medfusion tune`` with Optuna on the tracking store's database."""
