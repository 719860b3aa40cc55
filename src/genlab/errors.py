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


def did_you_mean(name: str, choices) -> str:
    """``"; did you mean 'vae'?"`` for the closest of ``choices`` to a mistyped ``name``, or ""."""
    import difflib

    close = difflib.get_close_matches(str(name), list(choices), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
