"""The error a data file that breaks its documented schema raises, in every package."""


class DataError(ValueError):
    """A file that does not follow its documented schema (named with file and column)."""
