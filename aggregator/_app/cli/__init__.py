"""The command line: click commands that load settings, call the pipeline and report.

Holds no business logic. ``app`` defines the group and the exit codes; each other
module registers its commands on import.
"""

from . import (
    arxiv,
    check,
    commands,
    daemon,
    dupes,
    migrate,
    search,
    send,
    setup,
    sources,
    status,
    subscribers,
    worker,
)
from .app import (
    EXIT_CONFIG,
    EXIT_FATAL,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_SOURCES_FAILED,
    main,
)

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FATAL",
    "EXIT_INTERRUPTED",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_SOURCES_FAILED",
    "arxiv",
    "check",
    "commands",
    "daemon",
    "dupes",
    "main",
    "migrate",
    "search",
    "send",
    "setup",
    "sources",
    "status",
    "subscribers",
    "worker",
]
