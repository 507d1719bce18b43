"""Building the system prompt: the prompt file plus the project's own instructions.

The system prompt stays byte-identical across turns (DeepSeek's prefix cache keys on it), so
nothing time-dependent goes in here.
"""

from __future__ import annotations

from pathlib import Path

import prompts
from agent.context.instructions import load_instructions


def system_prompt(root: Path, tool_names: list[str]) -> str:
    text = prompts.render("system", cwd=str(root), tools=", ".join(tool_names))
    extra = load_instructions(root)
    if extra:
        text += "\n\n# Project instructions\n\n" + extra.strip() + "\n"
    return text
