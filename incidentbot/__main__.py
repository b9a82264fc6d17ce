"""Run the CLI as ``python -m incidentbot``."""

from incidentbot.entrypoints.cli import main

main()
