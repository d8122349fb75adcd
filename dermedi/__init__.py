"""dermedi: dermatology claims in HIPAA X12 (CLI, persistence and glue around the pure core)."""

__version__ = "0.1.0"
