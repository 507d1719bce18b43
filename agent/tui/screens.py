"""Modal screens: approving a tool call, and setting up when no model is reachable."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from agent.config import AgentConfig
from agent.policy.permissions import ApprovalDecision, ApprovalRequest
from agent.tui.render import args_summary, diff_text, inert


def preview_text(preview: str) -> Text:
    """Diffs coloured with line numbers; anything else shown literally."""
    if preview.startswith(("--- ", "diff --git")) or "\n@@ " in preview:
        return diff_text(preview)
    return inert(preview)


class ApprovalScreen(ModalScreen[ApprovalDecision | None]):
    """y allow once · a always (this session) · n deny, then type an optional reason for the model.

    Dismissed with None on Esc: the app treats that as an interrupt.
    """

    DEFAULT_CSS = """
    ApprovalScreen { align: center middle; }
    ApprovalScreen > Vertical { width: 90%; max-width: 120; height: auto; max-height: 90%;
                                border: thick $warning; background: $surface; padding: 0 1; }
    ApprovalScreen #approval-preview { height: auto; max-height: 24; }
    ApprovalScreen #approval-reason { display: none; }
    ApprovalScreen .keys { color: $text-muted; }
    """
    BINDINGS = [
        Binding("y", "answer('once')", "allow once"),
        Binding("a", "answer('always')", "always allow"),
        Binding("n", "answer('deny')", "deny"),
        Binding("escape", "cancel", "interrupt"),
    ]

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        request = self.request
        head = Text(end="")
        head.append(f"{request.tool}", "bold")
        head.append(f"  {args_summary(request.args)}\n")
        head.append(f"needs approval: {request.reason or request.kind}", "yellow")
        with Vertical():
            yield Static(head, id="approval-head")
            with VerticalScroll(id="approval-preview"):
                yield Static(preview_text(request.preview or ""))
            yield Input(
                placeholder="why not? (optional, sent to the model) — Enter to deny", id="approval-reason"
            )
            yield Static(
                Text(
                    "y allow once   a always allow this session   n deny (+ reason)   Esc interrupt", end=""
                ),
                classes="keys",
            )

    def action_answer(self, answer: str) -> None:
        if answer == "once":
            self.dismiss(ApprovalDecision(allow=True))
        elif answer == "always":
            self.dismiss(ApprovalDecision(allow=True, always=True))
        else:
            reason = self.query_one("#approval-reason", Input)
            reason.display = True
            reason.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#approval-reason")
    def deny_with_reason(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(ApprovalDecision(allow=False, reason=event.value.strip()))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # While the reason is being typed, letters are text, not answers.
        return not (action == "answer" and isinstance(self.focused, Input))


def setup_advice(config: AgentConfig, message: str) -> Text:
    """What to do when no model answers: the endpoints tried and how to start one."""
    text = Text(end="")
    text.append("No model is reachable\n\n", "bold red")
    text.append(inert(message + "\n\n"))
    text.append("Configured endpoints:\n", "bold")
    for name, entry in config.models.items():
        key = ""
        if entry.api_key_env:
            key = f"  ({entry.api_key_env} {'set' if entry.api_key else 'NOT set'})"
        text.append(inert(f"  [models.{name}] {entry.model} at {entry.base_url}{key}\n"))
    text.append("\nStart a local model (any one):\n", "bold")
    text.append("  Ollama:    OLLAMA_CONTEXT_LENGTH=64000 ollama serve   then   ollama pull qwen3.5:9b\n")
    text.append(
        "  vLLM:      vllm serve Qwen/Qwen3.5-9B --reasoning-parser qwen3 --enable-auto-tool-choice "
        "--tool-call-parser qwen3_coder\n"
    )
    text.append("  llama.cpp: llama-server -m qwen3.5-9b-q4_k_m.gguf --jinja -c 65536 --port 8080\n")
    text.append("  and point [models.local] base_url at it in .qagent.toml\n")
    text.append("\nOr use DeepSeek: ", "bold")
    text.append("export DEEPSEEK_API_KEY=sk-… and restart qagent (routing uses [models.remote]).\n")
    text.append("\nqagent doctor", "bold")
    text.append(
        " probes every endpoint (/v1/models, Ollama /api/tags and num_ctx, llama.cpp /props), checks "
        "model names and the API key, runs a tiny tool-call and reasoning round trip, and recommends a "
        "Qwen 3.5 size for this machine's GPU memory.\n"
    )
    return text


class SetupScreen(ModalScreen[None]):
    """Shown when the first request finds no reachable model. d runs the doctor here; Esc closes."""

    DEFAULT_CSS = """
    SetupScreen { align: center middle; }
    SetupScreen > VerticalScroll { width: 95%; max-width: 130; height: 90%; border: thick $error;
                                   background: $surface; padding: 0 1; }
    SetupScreen .keys { color: $text-muted; }
    """
    BINDINGS = [Binding("d", "doctor", "run qagent doctor"), Binding("escape,q", "close", "close")]

    def __init__(self, config: AgentConfig, message: str, root: Path) -> None:
        super().__init__()
        self.config, self.message, self.root = config, message, root

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(setup_advice(self.config, self.message), id="setup-advice")
            yield Static(
                Text("d run qagent doctor here   Esc close and retry with a new prompt", end=""),
                classes="keys",
            )
            yield Static("", id="doctor-output")

    def action_close(self) -> None:
        self.dismiss(None)

    async def action_doctor(self) -> None:
        out = self.query_one("#doctor-output", Static)
        out.update(Text("running qagent doctor…", "dim"))
        out.update(inert(await run_cli(self.root, "doctor", width=self.size.width - 6)))


async def run_cli(root: Path, *args: str, timeout: float = 120.0, width: int = 110) -> str:
    """Run a ``qagent`` subcommand in the workspace and return what it printed (stdout + stderr).

    A subprocess, so the command behaves exactly as on the command line and the UI stays live.
    """
    code = "import sys; from agent.cli import main; main(sys.argv[1:])"
    env = {**os.environ, "COLUMNS": str(max(60, width)), "NO_COLOR": "1", "TERM": "dumb"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        *args,
        cwd=str(root),
        stdin=asyncio.subprocess.DEVNULL,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return f"qagent {' '.join(args)} did not finish within {timeout:.0f}s"
    text = output.decode("utf-8", "replace").rstrip()
    return text or f"qagent {' '.join(args)} exited with {proc.returncode}"
