"""The `incidentbot` command line: thin commands that parse input and call the operations.

The commands live by topic — incidents.py (open … remind), status.py (checks, the page, the
periodic job), learning.py (drills, postmortems), serving.py (dispatcher, doctor, sandbox,
demo) — and register on `main` when imported here. Heavy modules (PyGithub, slack-sdk, the
sandbox) are imported inside the commands that need them, so `incidentbot --help` and every
Actions cold start stay fast.
"""

from incidentbot.entrypoints.cli import incidents, learning, serving, status
from incidentbot.entrypoints.cli.common import (
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_USAGE,
    exit_code,
    main,
)

__all__ = ["EXIT_FAILED", "EXIT_INCOMPLETE", "EXIT_OK", "EXIT_USAGE", "exit_code", "incidents",
           "learning", "main", "serving", "status"]
