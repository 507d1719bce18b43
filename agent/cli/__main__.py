"""``python -m agent.cli`` runs the ``qagent`` command (tests use it to run the CLI of this checkout)."""

from agent.cli import main

main()
