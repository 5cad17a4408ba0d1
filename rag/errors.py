"""Domain errors. The CLI, API and UI turn each into one clear line, never a traceback."""


class RagError(Exception):
    """Base class for errors a user can act on. ``str(err)`` is the message to show."""

    exit_code = 1


class ConfigError(RagError):
    """A setting has a bad value; the message names the value and the valid choices."""

    exit_code = 2


class InputError(RagError):
    """A question, file or request is unusable as given."""

    exit_code = 2


class IndexMissingError(RagError):
    """No usable index: tell the user to run ``rag build``."""

    exit_code = 3


class IndexMismatchError(RagError):
    """The index was built with other settings or another model."""

    exit_code = 3


class IndexDamagedError(IndexMismatchError):
    """An index file is truncated, overwritten or unreadable; the message names the file."""


class DocumentError(RagError):
    """A corpus file could not be read (empty, binary, undecodable ...)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class LLMError(RagError):
    """The LLM endpoint failed (down, timeout, rate limit, malformed output)."""
