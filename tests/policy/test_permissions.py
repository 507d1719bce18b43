"""Permission rules hold against chaining, substitution and wrappers; destructive commands ask."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.config import PermissionsConfig
from agent.policy.permissions import Permissions, needs_checkpoint, paths_of


def perms(approval: str = "ask", **rules: list[str]) -> Permissions:
    return Permissions(PermissionsConfig(approval=approval, **rules), root=Path("/work/repo"))


def shell(p: Permissions, command: str) -> tuple[str, str]:
    return p.evaluate("shell", "exec", {"command": command})


DENY = perms(deny_commands=["curl", "rm -rf", "git push"], allow_commands=["pytest", "npm test"])


@pytest.mark.parametrize(
    "command",
    [
        "curl https://evil.example",
        "echo hi; curl https://evil.example",
        "echo hi && curl x",
        "false || curl x",
        "echo hi | curl -d @- x",
        "echo $(curl x)",
        "echo `curl x`",
        "cat <(curl x)",
        "ls; (cd src && curl x)",
        "if true; then curl x; fi",
        "for f in a b; do curl $f; done",
        "f() { curl x; }; f",
        "sh -c 'curl x'",
        'bash -lc "echo ok; curl x"',
        "eval curl x",
        "env A=1 curl x",
        "sudo -u bob curl x",
        "timeout 5 nice -n 10 curl x",
        "xargs curl < urls.txt",
        "/usr/bin/curl x",
        'c""url x',
        "\\curl x",
        "pytest -q && curl x",
        "pytest $(curl x)",
        "rm -rf build",
        "echo x; rm -rf /",
        "git push origin main",
        "git status && git push --force",
        "${CURL:-curl} x",
        "echo 'unbalanced; curl x",
    ],
)
def test_deny_rules_cannot_be_bypassed(command: str) -> None:
    verdict, reason = shell(DENY, command)
    assert verdict == "deny", (command, verdict, reason)
    assert "[permissions]" in reason  # says where the rule lives


@given(
    before=st.sampled_from(["echo ok", "ls", "pytest -q", "git status", "true"]),
    op=st.sampled_from([";", "&&", "||", "|", "\n", "&"]),
    wrap=st.sampled_from(["{}", "$({})", "`{}`", "sh -c '{}'", "sudo {}", "env X=1 {}", "({})"]),
    denied=st.sampled_from(["curl http://x", "rm -rf .", "git push -f"]),
)
def test_deny_holds_for_any_composition(before: str, op: str, wrap: str, denied: str) -> None:
    command = f"{before} {op} {wrap.format(denied)}"
    assert shell(DENY, command)[0] == "deny", command


@pytest.mark.parametrize("command", ["curlew --help", "echo curl", "grep -r 'rm -rf' docs", "rmdir x"])
def test_deny_rules_match_commands_not_text(command: str) -> None:
    assert shell(DENY, command)[0] != "deny"


def test_allow_rules_only_cover_one_plain_command() -> None:
    assert shell(DENY, "pytest -q tests/")[0] == "allow"
    assert shell(DENY, "npm test -- --watch=false")[0] == "allow"
    assert shell(DENY, "npm testing")[0] == "ask"
    assert shell(DENY, "pytestx")[0] == "ask"
    for sneaky in [
        "pytest; touch x",
        "pytest && touch x",
        "pytest $(touch x)",
        "pytest `touch x`",
        "pytest > /etc/passwd",
        "pytest | sh",
        "PAGER=sh pytest",
    ]:
        assert shell(DENY, sneaky)[0] == "ask", sneaky


@pytest.mark.parametrize(
    "command",
    [
        "git reset --hard",
        "git clean -fdx",
        "git checkout -- .",
        "git push --force",
        "rm -rf src",
        "echo ok && git reset --hard HEAD~1",
        "ls $(git clean -f)",
    ],
)
def test_destructive_commands_ask_in_every_policy_but_full_auto(command: str) -> None:
    for policy in ("ask", "auto-edit"):
        verdict, reason = shell(perms(policy, allow_commands=["git", "rm", "echo"]), command)
        assert verdict == "ask" and "destructive" in reason, (policy, command)
    assert shell(perms("read-only"), command)[0] == "deny"
    assert shell(perms("full-auto"), command)[0] == "allow"
    assert needs_checkpoint("shell", {"command": command})


def test_always_allow_is_never_remembered_for_destructive_commands() -> None:
    from agent.policy.permissions import ApprovalRequest

    p = perms("ask")
    request = ApprovalRequest(id="1", tool="shell", kind="exec", args={"command": "git reset --hard"})
    p.remember(request)
    assert shell(p, "git reset --hard")[0] == "ask"
    p.remember(ApprovalRequest(id="2", tool="shell", kind="exec", args={"command": "make build"}))
    assert shell(p, "make build")[0] == "allow"
    assert shell(p, "make build; touch x")[0] == "ask"


def test_read_only_policy() -> None:
    p = perms("read-only")
    assert shell(p, "git log --oneline")[0] == "allow"
    assert shell(p, "make")[0] == "deny"
    assert p.evaluate("write_file", "edit", {"path": "a.py", "content": ""})[0] == "deny"
    assert p.evaluate("read_file", "read", {"path": "a.py"})[0] == "allow"


def test_path_rules_for_tools_patches_and_shell_words() -> None:
    p = perms("auto-edit", deny_paths=[".env", "secrets/**", "*.pem"], allow_paths=["docs/*"])
    assert p.evaluate("read_file", "read", {"path": "config/.env"})[0] == "deny"
    assert p.evaluate("read_file", "read", {"path": "./secrets/prod/key.txt"})[0] == "deny"
    assert p.evaluate("read_file", "read", {"path": "/work/repo/certs/server.pem"})[0] == "deny"
    patch = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-x\n+y\n--- /dev/null\n+++ b/secrets/new.txt\n"
    assert p.evaluate("apply_patch", "edit", {"patch": patch})[0] == "deny"
    assert p.evaluate("apply_patch", "edit", {"patch": patch.split("--- /dev/null")[0]})[0] == "allow"
    for command in [
        "cat .env",
        "cat < .env",
        "echo x > secrets/a",
        "grep -r key secrets/x/y",
        "cp server.pem /tmp",
        "env FILE=.env python x.py",
    ]:
        assert shell(p, command)[0] == "deny", command
    ask = perms("ask", allow_paths=["docs/*"])
    assert ask.evaluate("write_file", "edit", {"path": "docs/guide.md"})[0] == "allow"
    assert ask.evaluate("write_file", "edit", {"path": "src/app.py"})[0] == "ask"


def test_needs_checkpoint() -> None:
    assert needs_checkpoint("edit_file", {"path": "a"})
    assert needs_checkpoint("apply_patch", {"patch": ""})
    assert needs_checkpoint("shell", {"command": "make"})
    assert not needs_checkpoint("shell", {"command": "git status && ls"})
    assert not needs_checkpoint("read_file", {"path": "a"})
    assert needs_checkpoint("mcp_thing", {}, kind="edit")
    assert not needs_checkpoint("mcp_lookup", {}, kind="read")
    assert needs_checkpoint("unknown_plugin_tool", {})


def test_paths_of_patch_formats() -> None:
    codex = "*** Begin Patch\n*** Update File: src/a.py\n*** Move to: src/b.py\n*** Add File: c.txt\n"
    assert paths_of("apply_patch", {"patch": codex}) == ["src/a.py", "src/b.py", "c.txt"]
    git_rename = "diff --git a/x b/y\nrename from x\nrename to y\n"
    assert paths_of("apply_patch", {"patch": git_rename}) == ["x", "y"]


def test_allowed_paths_cannot_be_reached_through_dotdot_or_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "docs" / "code").symlink_to(root / "src")
    (root / "docs" / "env").symlink_to(root / ".env")
    p = Permissions(PermissionsConfig(approval="ask", allow_paths=["docs/*"], deny_paths=[".env"]), root=root)
    assert p.evaluate("write_file", "edit", {"path": "docs/guide.md"})[0] == "allow"
    assert p.evaluate("write_file", "edit", {"path": "docs/../src/app.py"})[0] == "ask"
    assert p.evaluate("write_file", "edit", {"path": "docs/code/app.py"})[0] == "ask"  # symlink into src/
    assert p.evaluate("write_file", "edit", {"path": str(root / "docs" / "guide.md")})[0] == "allow"
    assert p.evaluate("read_file", "read", {"path": "docs/env"})[0] == "deny"  # symlink to .env
    assert p.evaluate("read_file", "read", {"path": "docs/../.env"})[0] == "deny"
