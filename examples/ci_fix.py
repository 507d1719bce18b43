"""Run the tests; while they fail, let the agent fix the code; stop at a budget.

    python examples/ci_fix.py [--test-cmd "python -m pytest -q"] [--budget 0.50] [--attempts 3]

Exit 0 when the tests pass (the diff is printed), 1 when they still fail after the attempts or the
budget (USD, priced from the config's tables; local models cost 0) ran out. The agent may edit files
and may run the test command itself, nothing else: every other shell command is refused.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

from agent import Agent, ApprovalRequest, callback_approver, load_config

PROMPT = """The test command `{command}` fails. Its output ends with:

```
{output}
```

Find the cause and fix the code (not the tests, unless a test is clearly wrong). You may run
`{command}` to check your fix. Finish with one paragraph saying what was wrong."""


def run_tests(command: str) -> tuple[bool, str]:
    proc = subprocess.run(shlex.split(command), capture_output=True, text=True)
    return proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-cmd", default=f"{shlex.quote(sys.executable)} -m pytest -q -x")
    parser.add_argument("--budget", type=float, default=0.50, help="USD for all attempts together")
    parser.add_argument("--attempts", type=int, default=3)
    args = parser.parse_args(argv)

    passed, output = run_tests(args.test_cmd)
    if passed:
        print("tests pass; nothing to fix")
        return 0

    def only_the_test_command(request: ApprovalRequest) -> bool:
        return request.tool == "shell" and str(request.args.get("command", "")).strip() == args.test_cmd

    overrides = {"permissions": {"approval": "auto-edit"}, "limits": {"max_cost": args.budget}}
    agent = Agent(load_config(overrides=overrides), approval=callback_approver(only_the_test_command))
    diffs: list[str] = []
    for attempt in range(1, args.attempts + 1):
        result = agent.run_sync(PROMPT.format(command=args.test_cmd, output=output))
        diffs.append(result.diff)
        print(f"attempt {attempt}: {result.stop_reason}, ${agent.total_cost:.4f} spent\n{result.text}",
              file=sys.stderr)
        passed, output = run_tests(args.test_cmd)
        if passed:
            print("tests pass after the agent's changes:\n" + "".join(diffs))
            return 0
        if result.stop_reason == "max_cost" or agent.total_cost >= args.budget:
            print(f"stopped: budget of ${args.budget:.2f} reached; tests still fail", file=sys.stderr)
            return 1
    print(f"tests still fail after {args.attempts} attempts:\n{output}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
