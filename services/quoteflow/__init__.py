"""quoteflow: a real-time insurance rating engine with blue/green model rollout."""

__version__ = "0.1.0"
