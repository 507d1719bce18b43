"""Give the agent a tool of your own: a (toy) ticket tracker.

    python examples/custom_tool.py "Summarise ticket 42 and comment which files it concerns" [--yes]

Tools use the same ``@tool`` decorator as qagent's built-ins. The docstring is what the model
reads; the arguments are a pydantic model (or plain typed parameters). ``kind`` tells the permission
layer what the tool does: ``read`` tools run freely, ``edit``/``exec``/``network`` ones go through
the approval callback, which sees the ``preview`` text. Without ``--yes`` you are asked on the terminal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel, Field

from agent import Agent, ApprovalRequest, ToolContext, ToolResult, ToolRetry, callback_approver, tool

TICKETS = {
    42: {"title": "Crash when the config file is empty",
         "body": "Running with an empty .qagent.toml raises KeyError 'models' in the loader."},
    43: {"title": "Typo in --help", "body": "'recieve' should be 'receive'."},
}
COMMENTS_FILE = "ticket-comments.jsonl"
DEFAULT_PROMPT = "Summarise ticket 42 and comment which files it concerns."


@tool
def lookup_ticket(ticket_id: int) -> str:
    """Fetch a ticket from the tracker: its title and description."""
    ticket = TICKETS.get(ticket_id)
    if ticket is None:  # the model can fix this one, so it is a ToolRetry, not a crash
        raise ToolRetry(f"no ticket #{ticket_id}; known tickets: {', '.join(map(str, sorted(TICKETS)))}")
    return f"#{ticket_id} {ticket['title']}\n\n{ticket['body']}"


class CommentArgs(BaseModel):
    ticket_id: int = Field(description="The ticket to comment on.")
    text: str = Field(description="The comment, in Markdown.")


def _comment_preview(args: BaseModel, ctx: ToolContext) -> str:
    assert isinstance(args, CommentArgs)
    return f"comment on ticket #{args.ticket_id}:\n{args.text}"


@tool(kind="network", preview=_comment_preview)
def comment_on_ticket(args: CommentArgs, ctx: ToolContext) -> ToolResult:
    """Add a comment to a ticket (visible to the whole team)."""
    if args.ticket_id not in TICKETS:
        raise ToolRetry(f"no ticket #{args.ticket_id}")
    with (ctx.root / COMMENTS_FILE).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"ticket": args.ticket_id, "text": args.text}) + "\n")
    return ToolResult(True, f"commented on #{args.ticket_id}", {"ticket": args.ticket_id})


def ask_on_terminal(request: ApprovalRequest, approve_all: bool = False) -> bool:
    why = request.reason or request.kind
    print(f"\n{request.tool} wants to run ({why}):\n{request.preview}", file=sys.stderr)
    if approve_all:
        print("allowed (--yes)", file=sys.stderr)
        return True
    if not sys.stdin.isatty():
        print("no terminal to ask on: refused (pass --yes to allow)", file=sys.stderr)
        return False
    return input("allow? [y/N] ").strip().lower() in ("y", "yes")


def main(argv: list[str]) -> int:
    approve_all = "--yes" in argv
    prompt = " ".join(a for a in argv if a != "--yes") or DEFAULT_PROMPT
    approver = callback_approver(lambda request: ask_on_terminal(request, approve_all))
    agent = Agent(extra_tools=[lookup_ticket, comment_on_ticket], approval=approver)
    result = agent.run_sync(prompt)
    print(result.text)
    comments = Path(COMMENTS_FILE)
    if comments.exists():
        print(f"\ncomments written to {comments}:\n{comments.read_text(encoding='utf-8')}", end="")
    return 0 if result.stop_reason == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
