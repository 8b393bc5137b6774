"""The pipeline's subcommands (each module defines ``command``)."""
