"""Component kinds: one module per kind with its hookspec, Protocol and helpers."""
