"""The Textual terminal UI (``qagent`` with no ``-p``). Import :mod:`agent.tui.app` for ``run_tui``."""

import os

# Textual paints a changed screen on its next update tick, at most TEXTUAL_FPS times a second. At the
# default 60 a streamed token waits up to 17 ms for that tick after the pump has drawn it; 120 halves
# the wait. It does not draw more often: the pump paces its own updates (agent/tui/pump.py). Read when
# textual is first imported, so it is set here, before any module of this package imports it; a
# value the user set wins.
os.environ.setdefault("TEXTUAL_FPS", "120")
