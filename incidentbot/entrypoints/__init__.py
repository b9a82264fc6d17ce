"""Entry points, thin: the CLI (click), the Slack dispatcher (WSGI / Socket Mode) and the demo.
They parse input, call `incidentbot.operations`, and say what happened."""
