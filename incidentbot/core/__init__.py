"""The pure core: the incident's model, names, configuration, the card, markers, commands, trust,
and the planner. Nothing here does I/O or imports an adapter; it is tested as plain code."""
