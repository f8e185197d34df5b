"""Triage measured on labelled conversations: the project's test split and the shared evaluation set.

Prints, for each set: high recall (high labelled high), medium-or-above recall on medium, the share of
`none` flagged high and flagged at all, recall per category (sets that label categories), and the
milliseconds per message (median, p99) of the same code path the chat runs (`bot.risk.step`). Targets:
high recall >= 0.95, medium-or-above >= 0.85, none flagged high <= 5%; they are printed, not asserted.

    python bench/risk.py [FILE.jsonl ...]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.risk import RiskState, step

SETS = (ROOT / "data" / "risk" / "test.jsonl", ROOT.parent / "shared" / "risk" / "dev.jsonl",
        Path("/work/shared/risk/dev.jsonl"))


def measure(path: Path) -> dict[str, object]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    times: list[float] = []
    cpu: list[float] = []
    outcome: Counter[tuple[str, str]] = Counter()
    per_category: dict[str, list[int]] = {}
    for row in rows:
        state, result = RiskState(), RiskState().result()
        for text in row["messages"]:
            started, started_cpu = time.perf_counter(), time.thread_time()
            state, result = step(state, text)
            times.append((time.perf_counter() - started) * 1000)
            # CPU time too: on a shared machine the wall clock also counts time spent waiting for a core.
            cpu.append((time.thread_time() - started_cpu) * 1000)
        outcome[(row["label"], result.level)] += 1
        for category in row.get("categories", []):
            hit = per_category.setdefault(category, [0, 0])
            hit[1] += 1
            hit[0] += result.level != "none" if row["label"] == "medium" else result.level == row["label"]

    def count(label: str, *levels: str) -> int:
        return sum(v for (lab, lev), v in outcome.items() if lab == label and (not levels or lev in levels))

    times.sort()
    cpu.sort()
    return {
        "set": str(path), "conversations": len(rows), "messages": len(times),
        "high_recall": count("high", "high") / max(1, count("high")),
        "medium_or_above_recall": count("medium", "medium", "high") / max(1, count("medium")),
        "none_flagged_high": count("none", "high") / max(1, count("none")),
        "none_flagged": count("none", "medium", "high") / max(1, count("none")),
        "counts": {label: count(label) for label in ("high", "medium", "none")},
        "per_category_recall": {c: round(h / t, 3) for c, (h, t) in sorted(per_category.items())},
        "ms_per_message_median": statistics.median(times) if times else 0.0,
        "ms_per_message_p99": times[min(len(times) - 1, int(0.99 * len(times)))] if times else 0.0,
        "cpu_ms_per_message_median": statistics.median(cpu) if cpu else 0.0,
        "cpu_ms_per_message_p99": cpu[min(len(cpu) - 1, int(0.99 * len(cpu)))] if cpu else 0.0,
    }


def main(argv: list[str]) -> int:
    # Loading the learned part (once per process) is start-up cost, not a message's.
    step(None, "warm up")
    paths = [Path(a) for a in argv] or [p for p in SETS if p.exists()]
    seen = set()
    for path in paths:
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        r = measure(path)
        ok = lambda v, target, above=True: "ok" if (v >= target if above else v <= target) else "MISSED"
        print(f"\n{r['set']}: {r['conversations']} conversations, {r['messages']} messages {r['counts']}")
        print(f"  high recall              {r['high_recall']:.3f}  (target >= 0.95: {ok(r['high_recall'], 0.95)})")
        print(f"  medium-or-above recall   {r['medium_or_above_recall']:.3f}  "
              f"(target >= 0.85: {ok(r['medium_or_above_recall'], 0.85)})")
        print(f"  none flagged high        {r['none_flagged_high']:.3f}  "
              f"(target <= 0.05: {ok(r['none_flagged_high'], 0.05, above=False)})")
        print(f"  none flagged at all      {r['none_flagged']:.3f}")
        if r["per_category_recall"]:
            print("  recall per category      " + ", ".join(f"{c} {v}" for c, v in r["per_category_recall"].items()))
        print(f"  ms per message (wall)    median {r['ms_per_message_median']:.3f}, p99 {r['ms_per_message_p99']:.3f}")
        print(f"  ms per message (CPU)     median {r['cpu_ms_per_message_median']:.3f}, "
              f"p99 {r['cpu_ms_per_message_p99']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
