"""How well qagent's router does on requests written independently of it (issue 17).

    python bench/routing_accuracy.py [--split dev|heldout|all] [--repo flask|trpc|gin]
                                     [--jobs N] [--show-heldout] [--timing-runs N] [--timing-only]

Needs a venv with ``pip install -e .`` (for the ``qagent`` command), ``npm`` for the TypeScript
repository and ``apt-get`` (Debian 12) for the Go one; each repository is fetched once from its
registry into ``.bench-cache/routing/`` (git-ignored) and committed into a fresh git repository
there. Set ``TIKTOKEN_CACHE_DIR`` where tiktoken's files cannot be downloaded.

The router is a black box: every request goes through ``qagent route --json`` run in the
repository's checkout, the command-line contract, with an isolated HOME and XDG folders (so no
user config interferes), ``DEEPSEEK_API_KEY=dummy`` (so the remote model counts as usable) and
the repository map's cache warmed first. The corpus and its labelling rules are described in
``bench/routing_corpus/README.md``. The held-out split is for reporting only: individual
held-out misroutes are hidden unless ``--show-heldout`` is given, and nothing may be tuned on it.

Cost of misroutes: repository-scale work routed local is reported as a share (its cost is a
worse answer, not dollars); single-file work routed remote is priced with the remote model's
default pricing from qagent's config, input = the router's ``est_tokens`` at the cache-miss
price, output = ``--output-tokens`` (default 2,000) per request.

Latency: ``qagent route --json`` on the Flask checkout with a warm map cache, median and p95
over ``--timing-runs`` sequential runs, against the 300 ms target; the peer measured in the same
run is a bare ``python -c pass`` with the same interpreter (the floor any Python CLI pays).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from routing_labels import CorpusError, load  # noqa: E402
from routing_report import Costing, Decision, misroutes, summarize, timing_line  # noqa: E402
from routing_repos import CACHE, REPOS, FetchError, checkout  # noqa: E402

TARGET_MS = 300.0


def qagent_command() -> list[str]:
    """The ``qagent`` of this interpreter's environment (the one ``pip install -e .`` made)."""
    beside = Path(sys.executable).parent / "qagent"
    found = str(beside) if beside.exists() else shutil.which("qagent")
    if not found:
        sys.exit("qagent is not installed here: python3 -m venv .venv && . .venv/bin/activate "
                 "&& pip install -e .  (then run this script with .venv/bin/python)")
    return [found]


def isolated_env(cache: Path) -> dict[str, str]:
    """Environment for the router: no user config or QAGENT_* override, remote counted usable."""
    home = cache / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QAGENT_")}
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"), "DEEPSEEK_API_KEY": "dummy",
    })
    return env


def route(qagent: list[str], prompt: str, cwd: Path, env: dict[str, str]) -> Decision:
    """One ``qagent route --json`` call; a failure becomes a Decision carrying the error."""
    proc = subprocess.run([*qagent, "route", "--json", prompt], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().splitlines()
    try:
        data = json.loads(lines[-1])
        return Decision(str(data["model"]), str(data["mode"]), str(data.get("reason", "")),
                        int(data.get("est_tokens") or 0))
    except (IndexError, ValueError, KeyError, TypeError):
        return Decision("", "", "", 0, error=f"exit {proc.returncode}: "
                        f"{(proc.stderr or proc.stdout).strip()[-300:]}")


def warm_map(qagent: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Build the repository map's cache once, so routing measures the warm path."""
    proc = subprocess.run([*qagent, "map", "--tokens", "1024"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        sys.exit(f"`qagent map` failed in {cwd}:\n{proc.stderr.strip()[-800:]}")


def costing(output_tokens: int) -> Costing:
    """Remote pricing from qagent's own config defaults (what a new user would be billed)."""
    from agent.config import AgentConfig

    config = AgentConfig()
    pricing = config.models[config.routing.remote].pricing
    return Costing(pricing.input_cache_miss, pricing.output, output_tokens)


def measure(cmd: list[str], cwd: Path, env: dict[str, str], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=True, timeout=120)
        seconds.append(time.perf_counter() - start)
    return seconds


def timing(qagent: list[str], flask: Path, env: dict[str, str], runs: int) -> str:
    """Wall time of ``qagent route --json`` on Flask (warm map cache) vs bare interpreter start."""
    prompt = "make get_flashed_messages accept a single category string"
    measure([*qagent, "route", "--json", prompt], flask, env, 2)  # page cache, bytecode
    ours = measure([*qagent, "route", "--json", prompt], flask, env, runs)
    peer = measure([sys.executable, "-c", "pass"], flask, env, runs)
    start_only = measure([*qagent, "route", "--help"], flask, env, runs)
    load = os.getloadavg()[0]
    return "\n".join([
        f"== latency on the flask checkout, warm map cache, {runs} runs each (load {load:.1f})",
        timing_line("qagent route --json", ours, TARGET_MS),
        timing_line("peer: python -c pass (interpreter start)", peer),
        timing_line("qagent route --help (CLI start-up, no routing)", start_only),
        f"  ratio of medians: {sorted(ours)[runs // 2] / sorted(peer)[runs // 2]:.1f}x the bare "
        "interpreter",
    ])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=["dev", "heldout", "all"], default="all")
    parser.add_argument("--repo", choices=sorted(REPOS), action="append",
                        help="only this repository (repeatable)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--show-heldout", action="store_true",
                        help="also list held-out misroutes (never tune on them)")
    parser.add_argument("--timing-runs", type=int, default=20, help="0 skips the latency part")
    parser.add_argument("--timing-only", action="store_true",
                        help="only the latency part (on the flask checkout)")
    parser.add_argument("--output-tokens", type=int, default=2000,
                        help="output tokens assumed per single-file request sent remote")
    parser.add_argument("--cache", type=Path, default=CACHE)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        corpus = load()
    except CorpusError as exc:
        sys.exit(f"routing corpus: {exc}")
    repos = ["flask"] if args.timing_only else args.repo or sorted(REPOS)
    splits = ["dev", "heldout"] if args.split == "all" else [args.split]
    chosen = [] if args.timing_only else [r for r in corpus if r.repo in repos and r.split in splits]
    qagent = qagent_command()
    env = isolated_env(args.cache)
    try:
        trees = {name: checkout(REPOS[name], args.cache) for name in repos}
    except FetchError as exc:
        sys.exit(f"could not fetch a corpus repository: {exc}")
    for tree in trees.values():
        warm_map(qagent, tree, env)
    if args.timing_only:
        print(timing(qagent, trees["flask"], env, max(1, args.timing_runs)))
        return
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        decisions = list(pool.map(lambda r: route(qagent, r.prompt, trees[r.repo], env), chosen))
    print(f"routed {len(chosen)} requests over {', '.join(repos)} in "
          f"{time.perf_counter() - started:.0f} s with {args.jobs} jobs\n")
    price = costing(args.output_tokens)
    print(f"pricing: remote defaults ${price.input_per_m}/M input (cache miss), "
          f"${price.output_per_m}/M output; input = est_tokens, output = {args.output_tokens}\n")
    pairs = list(zip(chosen, decisions, strict=True))
    for split in splits:
        in_split = [(r, d) for r, d in pairs if r.split == split]
        print(summarize(f"{split} split", in_split, price))
        for name in repos:
            sub = [(r, d) for r, d in in_split if r.repo == name]
            right = sum(d.model == r.route for r, d in sub)
            print(f"  {name:<6} route accuracy {100 * right / max(1, len(sub)):5.1f} % "
                  f"({right}/{len(sub)})")
        if split == "dev" or args.show_heldout:
            print(f"\n  misroutes on {split} (route or mode):")
            print(misroutes(in_split))
        print()
    if args.timing_runs > 0 and "flask" in trees:
        print(timing(qagent, trees["flask"], env, args.timing_runs))


if __name__ == "__main__":
    main()
