"""Errors a person can act on: each message is one sentence that names the thing and the fix."""


class MetaAgentError(Exception):
    """Base class for expected failures; the CLI prints the message without a traceback."""

    exit_code = 1


class ConfigError(MetaAgentError):
    """A setting (environment variable, config file, flag) is missing or malformed."""

    exit_code = 2


class InputError(MetaAgentError):
    """Input from a person or a file cannot be read; the message names the file/field/line."""

    exit_code = 2


class StoreUnavailable(MetaAgentError):
    """The ops database cannot be reached."""

    exit_code = 3
