"""The ``dermedi`` command line."""

from dermedi.cli.app import main

__all__ = ["main"]
