"""The narrow exceptions of the project, all in one place.

Every exception raised on purpose by the core derives from ``SurveillanceError`` so
a command-line entry point can turn it into a clear message and an exit code.
"""

from __future__ import annotations


class SurveillanceError(Exception):
    """Base class of every error the project raises on purpose."""


class ConfigError(SurveillanceError):
    """A configuration file or parameter is invalid (names the key and the value)."""


class InputFormatError(SurveillanceError):
    """An input file cannot be read at all (unknown format, unreadable, empty)."""


class SchemaError(SurveillanceError):
    """A table does not follow a schema in a way that no row-level rejection can express."""


class LeakageError(SurveillanceError):
    """A synthetic market is separable by a shortcut (raised when an audit is enforced)."""


class ModelError(SurveillanceError):
    """A model cannot be trained, saved or loaded as asked (names the file and the reason)."""
