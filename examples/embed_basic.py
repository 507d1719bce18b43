"""One prompt, then print what changed.

    cd your-repo
    python path/to/examples/embed_basic.py "add a --verbose flag to cli.py"

The agent reads its configuration exactly like the ``qagent`` command: the repository's
``.qagent.toml``, ``~/.config/qagent/config.toml`` and ``QAGENT_*`` variables (for example
``QAGENT_MODELS__LOCAL__BASE_URL=http://localhost:8000/v1``). This script allows edits without
asking (approval policy ``auto-edit``); shell commands would need an approver, so they are refused.
"""

from __future__ import annotations

import sys

from agent import Agent, load_config

DEFAULT_PROMPT = "Add a docstring to every public function in this repository that lacks one."


def main(argv: list[str]) -> int:
    prompt = " ".join(argv) or DEFAULT_PROMPT
    config = load_config(overrides={"permissions": {"approval": "auto-edit"}})
    agent = Agent(config)
    result = agent.run_sync(prompt)

    print(result.text)
    if result.diff:
        print("\n" + result.diff, end="" if result.diff.endswith("\n") else "\n")
    usage = result.usage
    print(f"changed: {', '.join(result.changed_files) or 'nothing'}; "
          f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens, ${result.cost:.4f}; "
          f"stop: {result.stop_reason}", file=sys.stderr)
    return 0 if result.stop_reason == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
