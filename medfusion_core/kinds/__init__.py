"""Component kinds: one module per kind with its hookspec contract, Protocol and metadata."""
