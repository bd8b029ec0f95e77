"""The embedded default: the whole stack as local processes."""
