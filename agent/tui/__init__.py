"""The Textual terminal UI (``qagent`` with no ``-p``). Import :mod:`agent.tui.app` for ``run_tui``."""
