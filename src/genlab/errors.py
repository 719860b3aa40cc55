"""Errors that describe a problem with the user's input or files.

The CLI prints a :class:`GenlabError` as one line and exits with status 2; anything else is
a bug in genlab and keeps its traceback.
"""


class GenlabError(Exception):
    """A problem the user can fix: bad config, bad data, a damaged file."""


class ConfigError(GenlabError, ValueError):
    """An unknown name, an unknown or ill-typed config key, an impossible value."""


class DataError(GenlabError, ValueError):
    """Data that cannot be used: missing, empty, corrupt, mixed shapes, NaN."""


class CheckpointError(GenlabError):
    """A saved model or resume state that is missing, damaged or does not fit."""


class TrainingDiverged(GenlabError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""
