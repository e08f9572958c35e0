"""The one error of the odds history, and the check that its extra is installed."""

from __future__ import annotations

import importlib
from typing import Final

HISTORY_EXTRA: Final = "history"


class HistoryError(Exception):
    """The history database cannot be used; the message is one line for the user."""


def require_sqlalchemy() -> None:
    """``HistoryError`` saying which extra to install if SQLAlchemy 2 is missing."""
    try:
        sqlalchemy = importlib.import_module("sqlalchemy")
    except ImportError:
        raise HistoryError(
            f"the odds history needs SQLAlchemy 2: pip install 'kwiff-scrapy[{HISTORY_EXTRA}]'"
        ) from None
    version = str(getattr(sqlalchemy, "__version__", "0"))
    if not version.split(".")[0].isdigit() or int(version.split(".")[0]) < 2:
        raise HistoryError(
            f"the odds history needs SQLAlchemy 2, not {version}: "
            f"pip install 'kwiff-scrapy[{HISTORY_EXTRA}]'"
        )
