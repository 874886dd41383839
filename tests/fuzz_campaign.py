"""``make fuzz``: the long property-based fuzzing campaign, with counts by outcome.

    python -m tests.fuzz_campaign [--examples 2000] [--seed 0] [--timeout 120]
    python -m tests.fuzz_campaign --replay COMMAND SEED     # one case again (seeds are printed)

Property: for every malformed input hypothesis draws (a command from tests.fuzzing.Fuzzer
and the seed of every choice of the mutation), the command ends with a correct
result or one clear error line, in bounded time, leaving nothing half-written.

A supervisor runs the cases in a worker process that logs each case before and after it
runs. If the worker dies (a native crash in edgekit's own process) or stops making progress
(a hang the per-case alarm could not break), the case in flight is counted as a crash or a
hang and a new worker continues with the rest. Exit status 1 if any case was not ok/error.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.fuzzing import OUTCOMES, Fuzzer, Outcome

ROOT = Path(__file__).resolve().parents[1]


def worker(examples: int, seed: int, timeout: int, log: Path, work: Path) -> None:
    """Run ``examples`` hypothesis-drawn cases, one JSON line per case start and end in ``log``."""
    from hypothesis import HealthCheck, Phase, given, settings, strategies as st
    from hypothesis import seed as hseed

    fuzzer = Fuzzer(work, timeout=timeout)
    out = open(log, "a", buffering=1)

    @hseed(seed)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(command=st.sampled_from(Fuzzer.COMMANDS), case_seed=st.integers(0, 2**64 - 1))
    def property_clear_error_or_correct_result(command, case_seed):
        import random

        out.write(json.dumps({"start": command, "seed": case_seed}) + "\n")
        try:
            o = fuzzer.run(command, random.Random(case_seed))
        except Exception as e:  # escaped the CLI (or the harness itself failed): counted, not hidden
            import traceback

            o = Outcome("traceback", command, f"escaped: {traceback.format_exc()[-600:]}")
        out.write(json.dumps({"end": command, "seed": case_seed, "kind": o.kind, "case": o.case, "detail": o.detail}) + "\n")

    property_clear_error_or_correct_result()
    out.close()


def _read(log: Path) -> list[dict]:
    if not log.exists():
        return []
    lines = []
    for ln in log.read_text().splitlines():
        try:
            lines.append(json.loads(ln))
        except json.JSONDecodeError:
            break  # a line cut short by a crash
    return lines


def supervise(examples: int, seed: int, timeout: int) -> int:
    counts: Counter = Counter()
    by_command: dict[str, Counter] = {}
    bad: list[str] = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edgekit-fuzz-") as tmp:
        done, restarts, harness_failures, isolated = 0, 0, 0, 0
        while done < examples:
            log = Path(tmp) / f"log{restarts}.jsonl"
            args = [sys.executable, "-m", "tests.fuzz_campaign", "--worker", "--examples", str(examples - done),
                    "--seed", str(seed + restarts), "--timeout", str(timeout), "--log", str(log),
                    "--work", str(Path(tmp) / f"work{restarts}")]  # fmt: skip
            env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
            errlog = Path(tmp) / f"stderr{restarts}.txt"
            with open(errlog, "w") as errfile:
                proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errfile)
            seen, last_change = 0, time.monotonic()
            while proc.poll() is None:
                time.sleep(1)
                n = len(_read(log))
                if n != seen:
                    seen, last_change = n, time.monotonic()
                    print(f"\r{done + n // 2} / {examples} cases ", end="", file=sys.stderr, flush=True)
                elif time.monotonic() - last_change > timeout + 300:  # not even the alarm fired
                    proc.kill()
            proc.wait()
            err = errlog.read_text(errors="replace")
            entries = _read(log)
            ended = [e for e in entries if "end" in e]
            for e in ended:
                counts[e["kind"]] += 1
                isolated += e["kind"] == "error" and "crashed (" in e["detail"]
                by_command.setdefault(e["end"], Counter())[e["kind"]] += 1
                if e["kind"] not in ("ok", "error"):
                    bad.append(f"{e['kind']}: {e['case']} (--replay {e['end']} {e['seed']}): {e['detail']}")
            done += len(ended)
            if entries and "start" in entries[-1]:  # the worker died (or was killed) in this case
                kind = "hang" if proc.returncode == -9 else "crash"
                counts[kind] += 1
                by_command.setdefault(entries[-1]["start"], Counter())[kind] += 1
                bad.append(f"{kind}: {entries[-1]['start']} (--replay {entries[-1]['start']} {entries[-1]['seed']}; "
                           f"worker exit {proc.returncode}): {err.strip()[-1500:]}")
                done += 1
            elif proc.returncode != 0:  # the harness itself failed: say so, and go on with a new worker
                print(f"\nworker failed outside a case (exit {proc.returncode}):\n{err[-2000:]}", file=sys.stderr)
                harness_failures += 1
                if harness_failures > 3:
                    return 2
            elif not ended:
                break
            restarts += 1
    total = sum(counts.values())
    print(f"\nfuzzing: {total} inputs in {time.perf_counter() - start:.0f} s (seed {seed}, {restarts} worker run(s))")
    print("  " + "  ".join(f"{k}: {counts[k]}" for k in OUTCOMES))
    print(f"  ({isolated} of the errors were native crashes caught in a child process)")
    for command in Fuzzer.COMMANDS:
        c = by_command.get(command, Counter())
        print(f"  {command:<9} " + "  ".join(f"{k} {c[k]}" for k in OUTCOMES if c[k]))
    for line in bad[:50]:
        print("  " + line)
    return 0 if not bad and total >= examples else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=int, default=120, help="seconds per case before it counts as a hang")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--log", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--replay", nargs=2, metavar=("COMMAND", "SEED"), help="run one case again, in this process")
    a = p.parse_args()
    if a.replay:
        import random

        with tempfile.TemporaryDirectory(prefix="edgekit-replay-") as tmp:
            start = time.perf_counter()
            print(Fuzzer(Path(tmp), timeout=a.timeout).run(a.replay[0], random.Random(int(a.replay[1]))),
                  f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
        return 0
    if a.worker:
        worker(a.examples, a.seed, a.timeout, a.log, a.work)
        return 0
    return supervise(a.examples, a.seed, a.timeout)


if __name__ == "__main__":
    sys.exit(main())
