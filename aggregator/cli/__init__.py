"""The command line: click commands that load settings, call the pipeline and report.

Holds no business logic. ``app`` defines the group and the exit codes; each other
module registers its commands on import.
"""

from . import commands
from . import dupes as dupes  # registers `aggregator dupes`
from .app import EXIT_CONFIG, EXIT_FATAL, EXIT_OK, EXIT_SOURCES_FAILED, main

__all__ = ["EXIT_CONFIG", "EXIT_FATAL", "EXIT_OK", "EXIT_SOURCES_FAILED", "commands", "main"]
