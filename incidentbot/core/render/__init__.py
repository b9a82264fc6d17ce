"""Pure rendering: records in, text out — Slack messages, Block Kit, modals, the SVG graph, and
the status page's files (HTML bars, Statuspage-style JSON, Upptime files)."""
