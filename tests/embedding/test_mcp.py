"""MCP tools through the real loop: a real stdio server (the ``mcp`` package), a scripted model."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from agent import Agent
from agent.config import MCPServer
from agent.events import Notice, ToolCallFinished, TurnFinished
from agent.mcp import McpTools
from agent.policy.permissions import ApprovalRequest, callback_approver
from tests.conftest import config_for
from tests.embedding.conftest import ECHO_SERVER, echo_server_spec


def tool_contents(body: dict) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def mcp_config(workspace, model, **sections):
    """The scripted model; tool calls allowed unless a test says otherwise."""
    sections.setdefault("permissions", {"approval": "full-auto"})
    return config_for(workspace, local=model, routing={"mode": "local"}, **sections)


ECHO = {"echo": MCPServer(**echo_server_spec())}


async def run_with_mcp(config, cwd, servers=ECHO, approval=None, prompt="go"):
    """Servers given in code, not in [mcp.servers], so only this McpTools starts them."""
    async with McpTools(servers, cwd=cwd) as mcp:
        agent = Agent(config, cwd=cwd, extra_tools=mcp.tools, approval=approval)
        try:
            events = [event async for event in agent.run(prompt)]
        finally:
            await agent.aclose()
        return events, mcp


async def test_stdio_tool_called_by_the_model_and_its_result_returned(scripted_server, git_repo):
    server = scripted_server([
        {"tool_calls": [{"name": "echo__echo", "arguments": {"text": "ping", "times": 2}}]},
        {"text": "the server said ping ping"},
    ])
    config = mcp_config(git_repo, server, permissions={"approval": "ask"})
    asked: list[ApprovalRequest] = []
    approve = callback_approver(lambda r: asked.append(r) or True)
    events, mcp = await run_with_mcp(config, git_repo, approval=approve)

    assert events[-1] == TurnFinished(stop_reason="completed", text="the server said ping ping",
                                      usage_total=events[-1].usage_total)
    first, second = server.chat_requests()
    offered = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert offered["echo__echo"]["parameters"]["required"] == ["text"]
    assert offered["echo__echo"]["parameters"]["properties"]["times"]["type"] == "integer"
    assert {"echo__add", "echo__crash", "read_file"} <= set(offered)
    assert tool_contents(second) == ["ping ping"]
    assert [(r.tool, r.kind) for r in asked] == [("echo__echo", "exec")]
    assert mcp.statuses() == [{"name": "echo", "status": "connected"}]


async def test_arguments_are_checked_against_the_servers_schema(scripted_server, git_repo):
    server = scripted_server([
        {"tool_calls": [{"name": "echo__add", "arguments": {"a": 1, "b": "two"}}]},
        {"tool_calls": [{"name": "echo__add", "arguments": {"a": 1, "b": 2}}]},
        {"text": "3"},
    ])
    config = mcp_config(git_repo, server)
    events, _ = await run_with_mcp(config, git_repo)
    bodies = server.chat_requests()
    complaint = tool_contents(bodies[1])[0]
    assert "invalid arguments for echo__add" in complaint and "'two' is not of type 'integer'" in complaint
    assert '"sum": 3' in tool_contents(bodies[2])[1]
    finished = [e for e in events if isinstance(e, ToolCallFinished)]
    assert finished[1].ok and finished[1].data["structured"] == {"sum": 3}


async def test_denied_call_never_reaches_the_server(scripted_server, git_repo):
    server = scripted_server([
        {"tool_calls": [{"name": "echo__crash", "arguments": {}}]},
        {"tool_calls": [{"name": "echo__echo", "arguments": {"text": "still alive"}}]},
        {"text": "ok"},
    ])
    config = mcp_config(git_repo, server, permissions={"approval": "ask"})
    approve = callback_approver(lambda r: r.tool != "echo__crash")
    events, mcp = await run_with_mcp(config, git_repo, approval=approve)
    bodies = server.chat_requests()
    assert "the user denied this call" in tool_contents(bodies[1])[0]
    assert tool_contents(bodies[2])[1] == "still alive"
    assert not [e for e in events if isinstance(e, Notice) and "MCP" in e.text]


async def test_server_crash_mid_session_is_a_notice_and_the_session_continues(scripted_server, git_repo):
    server = scripted_server([
        {"tool_calls": [{"name": "echo__echo", "arguments": {"text": "before"}}]},
        {"tool_calls": [{"name": "echo__crash", "arguments": {}}]},
        {"tool_calls": [{"name": "echo__echo", "arguments": {"text": "after"}},
                        {"name": "list_files", "arguments": {}}]},
        {"text": "finished without the echo server"},
    ])
    config = mcp_config(git_repo, server)
    events, mcp = await run_with_mcp(config, git_repo)

    assert events[-1].stop_reason == "completed" and events[-1].text == "finished without the echo server"
    notices = [e.text for e in events if isinstance(e, Notice) and "MCP server 'echo'" in e.text]
    assert len(notices) == 1 and "stopped" in notices[0] and "fatal error, exiting" in notices[0]
    results = [tool_contents(body)[-1] for body in server.chat_requests()[1:3]]
    assert results[0] == "before"
    assert "stopped while running crash" in results[1]
    last = tool_contents(server.chat_requests()[3])
    assert "is not running" in last[-2] and "README.md" in last[-1]
    assert mcp.statuses() == [{"name": "echo", "status": "failed"}]


async def test_server_that_cannot_start_is_a_notice_and_its_tools_are_absent(scripted_server, git_repo,
                                                                             tmp_path):
    server = scripted_server([{"tool_calls": [{"name": "echo__echo", "arguments": {"text": "hi"}}]},
                              {"text": "ok"}])
    config = mcp_config(git_repo, server)
    servers = {"missing": MCPServer(command=str(tmp_path / "no-such-server")),
               "exits": MCPServer(command=sys.executable, args=["-c", "import sys; sys.exit('bad token')"]),
               **ECHO}
    events, mcp = await run_with_mcp(config, git_repo, servers)
    texts = [n.text for n in mcp.notices]
    assert len(texts) == 2
    assert "'missing' did not start" in texts[0] and "No such file" in texts[0]
    assert "'exits' did not start" in texts[1] and "bad token" in texts[1]
    names = {t["function"]["name"] for t in server.chat_requests()[0]["tools"]}
    assert "echo__echo" in names and not any(n.startswith(("missing__", "exits__")) for n in names)
    assert events[-1].stop_reason == "completed"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_streamable_http_server(scripted_server, git_repo):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(ECHO_SERVER), "--http", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        server = scripted_server([{"tool_calls": [{"name": "web__add", "arguments": {"a": 20, "b": 22}}]},
                                  {"text": "42"}])
        config = mcp_config(git_repo, server)
        servers = {"web": MCPServer(url=f"http://127.0.0.1:{port}/mcp")}
        events, mcp = await run_with_mcp(config, git_repo, servers)
        assert mcp.statuses() == [{"name": "web", "status": "connected"}]
        assert '"sum": 42' in tool_contents(server.chat_requests()[1])[0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_agent_from_config_offers_mcp_tools_in_run_sync(scripted_server, git_repo):
    server = scripted_server([{"tool_calls": [{"name": "echo__echo", "arguments": {"text": "sync"}}]},
                              {"text": "done"}])
    config = mcp_config(git_repo, server, mcp={"servers": {"echo": echo_server_spec()}})
    result = Agent(config, cwd=git_repo).run_sync("go")
    assert tool_contents(server.chat_requests()[1]) == ["sync"]
    assert result.text == "done"
