"""docgen: mass-produce per-worker documents from a roster and templates."""

__version__ = "0.1.0"
