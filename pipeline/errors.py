"""yuqing's exception tree: callers catch the family, messages name the fix.

    YuqingError
    ├── ConfigError        a file, key or value in config/ is wrong
    ├── StoreUnavailable   the store cannot be reached or written
    ├── SourceError        a source answered with something we cannot use
    └── NotifyError        an alert could not be delivered
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any


class YuqingError(Exception):
    """Base of every error yuqing raises on purpose."""


class ConfigError(YuqingError):
    """Invalid configuration; the message names the file, the key and what is wrong."""


class StoreUnavailable(YuqingError):
    """The store is down or refused a write; nothing was lost, the caller may retry."""


class SourceError(YuqingError):
    """A source returned an error page, a changed schema or nothing usable.

    ``kind`` is one of BLOCKED, LOGIN_REQUIRED, SCHEMA_CHANGED, NOT_FOUND, RATE_LIMITED,
    API_ERROR, EMPTY_BODY, MALFORMED.
    """

    def __init__(self, kind: str, source: str, detail: str) -> None:
        super().__init__(f"{source}: {kind}: {detail}")
        self.kind = kind
        self.source = source
        self.detail = detail


class NotifyError(YuqingError):
    """An alert channel refused or could not be reached."""


def open_input(path: Path, what: str, error: type[YuqingError] = YuqingError, **kwargs: Any) -> IO[Any]:
    """Open a file a user named; a missing file, a folder or no permission becomes ``error``."""
    try:
        return path.open(**kwargs)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path}: is a folder; give {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
