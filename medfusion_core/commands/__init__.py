"""Core subcommands of ``medfusion``; each module defines ``command`` (registered in builtin.py)."""
