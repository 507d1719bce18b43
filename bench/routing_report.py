"""Figures for the routing accuracy bench: accuracy, confusion, recall by kind, mode, misroute cost.

Kept apart from the runner so the arithmetic can be read (and checked) without the subprocess
plumbing. Every figure is computed from (request, decision) pairs; a decision is what
``qagent route --json`` printed, or an error string when it printed nothing usable.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from routing_labels import Request


@dataclass(frozen=True)
class Decision:
    """What the router said for one request (``error`` set when the CLI failed)."""

    model: str
    mode: str
    reason: str
    est_tokens: int
    error: str = ""


@dataclass(frozen=True)
class Costing:
    """How a single-file request sent remote is priced: USD per million tokens, and the output
    tokens assumed per request (the input is the router's own ``est_tokens``)."""

    input_per_m: float
    output_per_m: float
    output_tokens: int

    def dollars(self, est_tokens: int) -> float:
        return (est_tokens * self.input_per_m + self.output_tokens * self.output_per_m) / 1e6


def _pct(num: int, den: int) -> str:
    return f"{100 * num / den:5.1f} % ({num}/{den})" if den else "    - (0/0)"


def _recall_table(pairs: list[tuple[Request, Decision]], field: str) -> list[str]:
    groups: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for req, dec in pairs:
        groups[(getattr(req, field), req.route)].append(dec.model == req.route)
    width = max((len(k) for k, _ in groups), default=4)
    rows = []
    for (key, route), hits in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rows.append(f"    {key:<{width}}  [{route:6}]  {_pct(sum(hits), len(hits))}")
    return rows


def summarize(title: str, pairs: list[tuple[Request, Decision]], costing: Costing) -> str:
    """The aggregate figures for one split (or one repo of it)."""
    if not pairs:
        return f"== {title}: no requests"
    out = [f"== {title}: {len(pairs)} requests"]
    errors = [(r, d) for r, d in pairs if d.error]
    right = sum(d.model == r.route for r, d in pairs)
    out.append(f"  route accuracy      {_pct(right, len(pairs))}")
    local = sum(r.route == "local" for r, _ in pairs)
    out.append(f"    peers on the same requests: always-local {_pct(local, len(pairs))}, "
               f"always-remote {_pct(len(pairs) - local, len(pairs))}")
    confusion = Counter((r.route, d.model if not d.error else "error") for r, d in pairs)
    out.append("  confusion (rows: label, columns: router)   local   remote   error")
    for label in ("local", "remote"):
        cells = "".join(f"{confusion[(label, col)]:8d}" for col in ("local", "remote", "error"))
        out.append(f"    {label:<41}{cells}")
    moded = [(r, d) for r, d in pairs if r.mode is not None]
    out.append(f"  mode accuracy       {_pct(sum(d.mode == r.mode for r, d in moded), len(moded))}"
               "  (requests with a mode label)")
    for label in ("fast", "thinking"):
        sub = [(r, d) for r, d in moded if r.mode == label]
        out.append(f"    {label:<9} recall  {_pct(sum(d.mode == label for _, d in sub), len(sub))}")
    for label in ("local", "remote"):
        sub = [(r, d) for r, d in moded if r.route == label]
        out.append(f"    on {label:<6} work  {_pct(sum(d.mode == r.mode for r, d in sub), len(sub))}")
    out.append("  recall per source:")
    out += _recall_table(pairs, "source")
    out.append("  recall per kind:")
    out += _recall_table(pairs, "kind")
    out += _costs(pairs, costing)
    if errors:
        out.append(f"  router errors: {len(errors)} (first: {errors[0][1].error[:160]})")
    return "\n".join(out)


def _costs(pairs: list[tuple[Request, Decision]], costing: Costing) -> list[str]:
    remote = [(r, d) for r, d in pairs if r.route == "remote"]
    to_local = [(r, d) for r, d in remote if d.model == "local"]
    local = [(r, d) for r, d in pairs if r.route == "local"]
    to_remote = [(r, d) for r, d in local if d.model == "remote"]
    spent = sum(costing.dollars(d.est_tokens) for _, d in to_remote)
    per = spent / len(to_remote) if to_remote else 0.0
    per_1000 = 1000 * spent / len(local) if local else 0.0
    return [
        "  what the misroutes cost:",
        f"    repository-scale work sent to the local model   {_pct(len(to_local), len(remote))}",
        f"    single-file work sent remote                    {_pct(len(to_remote), len(local))}"
        f", ${spent:.4f} (${per:.4f} each, ${per_1000:.2f} per 1,000 single-file requests)",
    ]


def misroutes(pairs: list[tuple[Request, Decision]], *, limit_chars: int = 110) -> str:
    """One line per wrong route or wrong mode, grouped by kind, with the router's reason."""
    lines = []
    wrong = [(r, d) for r, d in pairs
             if d.model != r.route or (r.mode is not None and d.mode != r.mode)]
    for req, dec in sorted(wrong, key=lambda p: (p[0].route, p[0].kind, p[0].id)):
        what = (f"route {req.route}->{dec.model or 'error'}" if dec.model != req.route
                else f"mode {req.mode}->{dec.mode}")
        prompt = " ".join(req.prompt.split())
        prompt = prompt if len(prompt) <= limit_chars else prompt[: limit_chars - 1] + "…"
        lines.append(f"  {req.id:<22} {what:<22} [{req.kind}] {prompt}\n"
                     f"  {'':<22} router: {dec.error or dec.reason}")
    return "\n".join(lines) if lines else "  (none)"


def timing_line(label: str, seconds: list[float], target_ms: float | None = None) -> str:
    """Median and p95 of wall times, optionally against a target."""
    ordered = sorted(seconds)
    median = ordered[len(ordered) // 2] * 1000
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] * 1000
    verdict = ""
    if target_ms is not None:
        verdict = "  meets" if p95 <= target_ms else f"  over the {target_ms:.0f} ms target"
        verdict += f" ({median / target_ms:.1f}x the target at the median)"
    return f"  {label:<48} median {median:7.0f} ms   p95 {p95:7.0f} ms{verdict}"
