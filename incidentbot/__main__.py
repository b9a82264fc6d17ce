"""Run the CLI as ``python -m incidentbot``."""

from incidentbot.cli import main

main()
