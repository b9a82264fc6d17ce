"""Adapters: the only code that talks to the world — GitHub (PyGithub), Slack (slack-sdk),
PagerDuty, outbound webhooks and mail, the data branch (git) and the files on disk."""
