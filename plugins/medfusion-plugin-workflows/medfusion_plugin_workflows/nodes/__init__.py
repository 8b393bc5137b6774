"""The first-party workflow nodes (``node`` components registered in ``hooks.py``)."""
