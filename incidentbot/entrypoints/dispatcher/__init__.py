"""The Slack dispatcher: slash commands, modals and channel events, relayed to GitHub.

A WSGI app for Slack's request URLs (`incidentbot serve`, on waitress) and the same handlers
over Socket Mode. Every request is verified (signature, 5-minute window, replay, team), then
answered at once: anything slow (GitHub, Slack Web API calls, the reconcile) runs on a worker
pool after the acknowledgement, and its result reaches the user through the response_url or
an ephemeral message. Bad input always gets a plain-words ephemeral answer and HTTP 200;
nothing a user sends can produce a 500.
"""

from incidentbot.entrypoints.dispatcher.app import Dispatcher
from incidentbot.entrypoints.dispatcher.replies import Reply, ephemeral

__all__ = ["Dispatcher", "Reply", "ephemeral"]
