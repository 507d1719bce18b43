"""grep and file listing through the real ripgrep binary (``.gitignore`` respected, ``.git`` skipped).

ripgrep does the walking and matching; this module only builds the command line, caps what the
model sees (with a count of what was left out) and turns rg's errors into messages the model can act on.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel, Field

from tools import ToolContext, ToolResult, ToolRetry, tool
from tools.paths import display_path, resolve_in_workspace
from tools.sandbox import secret_file_refusal
from tools.secrets import SECRET_NAME_PATTERNS

TIMEOUT_S = 60.0
MAX_COLUMNS = 400
_COMMON = ["--no-config", "--hidden", "--no-require-git", "--glob", "!.git", "--color", "never"]
_MATCH = re.compile(rb"\x00(\d+):")


@functools.lru_cache(maxsize=1)
def find_rg() -> str:
    """The rg binary: the one installed next to this Python (the ``ripgrep`` wheel), else PATH."""
    beside = Path(sys.executable).parent / "rg"
    if beside.is_file():
        return str(beside)
    found = shutil.which("rg")
    if found is None:
        raise ToolRetry("ripgrep (rg) is not installed; install qagent's dependencies "
                        "(pip install --only-binary :all: ripgrep==14.1.0)")
    return found


def _target(root: Path, path: str | None) -> list[str]:
    """rg's path argument, relative to the root so printed paths are repo-relative."""
    if path in (None, "", "."):
        return []
    resolved = resolve_in_workspace(root, path)
    if not resolved.exists():
        raise ToolRetry(f"{path!r} does not exist in the workspace")
    rel = display_path(root, resolved)
    return [] if rel == "." else ["--", rel]


def list_paths(root: Path, path: str | None = None, pattern: str | None = None) -> list[str]:
    """Repo-relative files under ``path`` (ignoring what .gitignore ignores), sorted."""
    cmd = [find_rg(), "--files", "--null", *_COMMON]  # NUL-separated: names may contain newlines
    if pattern:
        cmd += ["--glob", pattern]
    proc = subprocess.run(cmd + _target(root, path), cwd=root, capture_output=True, timeout=TIMEOUT_S,
                          stdin=subprocess.DEVNULL)
    if proc.returncode == 2 and not proc.stdout:
        raise ToolRetry(f"listing files failed: {_first_error(proc.stderr)}")
    return sorted(name for name in proc.stdout.decode("utf-8", "replace").split("\0") if name)


def _first_error(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    return text[:800] or "ripgrep failed without a message"


class GrepArgs(BaseModel):
    pattern: str = Field(description="Regular expression (Rust regex syntax, like Python's re)")
    path: str | None = Field(None, description="File or directory to search; default: the whole workspace")
    glob: str | None = Field(None, description='Only files matching this glob on workspace-relative paths, '
                             'e.g. "*.py" (any depth) or "src/**/*.ts"')
    ignore_case: bool = False
    context: int = Field(0, ge=0, le=20, description="Lines of context around each match")
    max_results: int = Field(200, ge=1, le=2000, description="Most matching lines to return")


def _grep_command(args: GrepArgs, root: Path) -> list[str]:
    cmd = [find_rg(), *_COMMON, "--no-heading", "--with-filename", "--line-number", "--null",
           "--max-columns", str(MAX_COLUMNS), "--max-columns-preview"]
    cmd += [f"--iglob=!{glob}" for glob in SECRET_NAME_PATTERNS]  # never shown, like read_file
    if args.ignore_case:
        cmd.append("--ignore-case")
    if args.context:
        cmd += ["--context", str(args.context)]
    if args.glob:
        cmd += ["--glob", args.glob]
    return cmd + ["--regexp", args.pattern] + _target(root, args.path)


def run_grep(args: GrepArgs, root: Path) -> tuple[list[bytes], int, bytes, int]:
    """Run rg, keeping the first ``max_results`` matches (with their context) and counting the rest.

    Returns (shown output lines, total matching lines, stderr, exit code). Output is read as a
    stream so a pattern matching millions of lines costs a count, not memory.
    """
    proc = subprocess.Popen(_grep_command(args, root), cwd=root, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    shown: list[bytes] = []
    total = 0
    pending = b""
    try:
        for chunk in iter(functools.partial(proc.stdout.read, 1 << 16), b""):
            if total >= args.max_results:
                cut = chunk.rfind(b"\n") + 1
                total += len(_MATCH.findall(pending + chunk[:cut]))
                pending = chunk[cut:]
                continue
            *lines, pending = (pending + chunk).split(b"\n")
            for index, line in enumerate(lines):
                if total >= args.max_results:
                    total += len(_MATCH.findall(b"\n".join(lines[index:])))
                    break
                if _MATCH.search(line):
                    total += 1
                shown.append(line)
        stderr = proc.stderr.read()
        code = proc.wait(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    return shown, total, stderr, code


def _render(line: bytes) -> tuple[str, dict[str, object] | None]:
    text = line.decode("utf-8", "replace")
    path, sep, rest = text.partition("\x00")
    if not sep:
        return text, None
    head = re.match(r"(\d+)([:-])", rest)
    if head is None:
        return text, None
    number, content = head.group(1), rest[head.end():].removesuffix("\r")
    if head.group(2) == ":":
        return f"{path}:{number}:{content}", {"path": path, "line": int(number), "text": content}
    return f"{path}-{number}-{content}", None


@tool(kind="read")
def grep(args: GrepArgs, ctx: ToolContext) -> ToolResult:
    """Search file contents with ripgrep. Returns matching lines as path:line:text (context lines as
    path-line-text), skipping files ignored by .gitignore. Results are capped at max_results with a count
    of what was left out; narrow with path or glob when capped."""
    if args.path:
        target = resolve_in_workspace(ctx.root, args.path)
        refusal = secret_file_refusal(target, display_path(ctx.root, target))
        if refusal:  # a file named on rg's command line bypasses its globs
            return ToolResult(False, refusal, {"matches": [], "total": 0, "truncated": False, "secret": True})
    shown, total, stderr, code = run_grep(args, ctx.root)
    if code == 2 and not shown:
        message = _first_error(stderr)
        if "regex parse error" in message:
            raise ToolRetry(f"invalid regular expression {args.pattern!r}:\n{message}\n"
                            "Escape special characters such as ( [ { . * + ? with a backslash.")
        raise ToolRetry(f"grep failed: {message}")
    if total == 0:
        where = f" in {args.path}" if args.path else ""
        return ToolResult(True, f"No matches for {args.pattern!r}{where}.",
                          {"matches": [], "total": 0, "truncated": False})
    out, matches, last_match = [], [], 0
    for line in shown:
        text, match = _render(line)
        out.append(text)
        if match:
            matches.append(match)
            last_match = len(out)
    truncated = total > len(matches)
    if truncated:
        del out[last_match:]  # context after the last shown match belongs to matches that were cut
        out.append(f"[{total - len(matches)} more matching lines not shown ({total} in all); "
                   "narrow the search with path or glob, or raise max_results]")
    return ToolResult(True, "\n".join(out), {"matches": matches, "total": total, "truncated": truncated})
