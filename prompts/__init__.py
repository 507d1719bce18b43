"""Model prompts live here as Markdown files, rendered strictly.

``render("system", cwd=...)`` fills ``{name}`` placeholders; a missing variable is an error,
never a silently empty string. Literal braces are written ``{{`` and ``}}``.
"""

from __future__ import annotations

import string
from functools import lru_cache
from importlib import resources


class PromptError(KeyError):
    """A prompt referenced a variable the caller did not provide."""


@lru_cache(maxsize=None)
def load(name: str) -> str:
    """The raw text of ``prompts/<name>.md``."""
    return resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")


def render(name: str, **variables: object) -> str:
    """Render a prompt; every ``{placeholder}`` must be given."""
    text = load(name)
    needed = {field for _, field, _, _ in string.Formatter().parse(text) if field}
    missing = needed - variables.keys()
    if missing:
        raise PromptError(f"prompt {name!r} needs {', '.join(sorted(missing))}")
    return text.format(**variables)
