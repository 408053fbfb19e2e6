"""Regenerate every benchmark table: run each ``bench_*.py`` of this folder.

Usage::

    python benchmarks/reproduce.py [--output-dir DIR] [--data-home DIR]
                                   [-k PATTERN] [--reproduction-only] [--list]
    skhash bench --reproduce [--output-dir DIR] [--data-home DIR]

The scripts are discovered, not listed here: every ``bench_*.py`` next to this
file runs with its own defaults, one after the other, in name order, with
``SKHASH_DATA`` set to ``--data-home`` when given (the scripts read
``../shared/data``-style local copies). Each script's output (stdout and
stderr) is saved as ``<output-dir>/<script>.txt``; ``summary.json`` and
``summary.md`` record, per script, the exact command, exit status, run time and
whether it is a reproduction table (its source compares with a paper: it
contains "published", "reproduc..." or "paper") or a measurement (speed, memory,
our own mAP). The pages of
``doc/benchmarks*.rst`` and ``doc/reproduction*.rst`` are written from these
outputs. The exit status is 1 when any script failed, else 0.

Real-data scripts take minutes to hours on 2 cores; ``--list`` shows what
would run and ``-k`` selects scripts by a substring of their name.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(folder=HERE):
    """The benchmark scripts of ``folder``, in name order, with their kind."""
    found = []
    for path in sorted(folder.glob("bench_*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        lower = text.lower()
        kind = (
            "reproduction"
            if any(w in lower for w in ("published", "reproduc", "paper"))
            else "measurement"
        )
        summary = ""
        for line in text.splitlines():
            line = line.strip().strip('"').strip("'").strip()
            if line:
                summary = line
                break
        found.append(
            {"script": path.name, "path": path, "kind": kind, "summary": summary}
        )
    return found


def _atomic_write_text(path, text):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def run_script(entry, out_dir, env, timeout):
    cmd = [sys.executable, str(entry["path"])]
    t0 = time.perf_counter()
    try:
        res = subprocess.run(
            cmd,
            cwd=entry["path"].parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        rc, output = res.returncode, res.stdout
        if res.stderr:
            output += (
                "\n" if output and not output.endswith("\n") else ""
            ) + res.stderr
    except subprocess.TimeoutExpired as exc:
        rc = "timeout"
        output = (
            (exc.stdout or b"").decode()
            if isinstance(exc.stdout, bytes)
            else (exc.stdout or "")
        )
        output += f"\n[reproduce.py: stopped after {timeout} s]\n"
    seconds = time.perf_counter() - t0
    out_file = out_dir / (Path(entry["script"]).stem + ".txt")
    _atomic_write_text(out_file, output)
    return {
        "script": entry["script"],
        "kind": entry["kind"],
        "command": f"python benchmarks/{entry['script']}",
        "returncode": rc,
        "seconds": round(seconds, 1),
        "output": out_file.name,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output-dir", default="reproduction-output")
    p.add_argument(
        "--data-home",
        default=None,
        help="data folder (sets SKHASH_DATA for the scripts)",
    )
    p.add_argument(
        "-k",
        dest="pattern",
        default=None,
        help="run only the scripts whose name contains PATTERN",
    )
    p.add_argument(
        "--reproduction-only",
        action="store_true",
        help="skip the measurement scripts (speed, memory)",
    )
    p.add_argument(
        "--timeout", type=float, default=None, help="seconds allowed per script"
    )
    p.add_argument("--list", action="store_true", help="list the scripts and exit")
    args = p.parse_args(argv)

    entries = discover()
    if args.pattern:
        entries = [e for e in entries if args.pattern in e["script"]]
    if args.reproduction_only:
        entries = [e for e in entries if e["kind"] == "reproduction"]
    if args.list:
        for e in entries:
            print(f"{e['script']:<40} {e['kind']:<13} {e['summary']}")
        return 0
    if not entries:
        print("no benchmark script selected", file=sys.stderr)
        return 1
    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if args.data_home:
        env["SKHASH_DATA"] = str(Path(args.data_home).resolve())
    results = []
    for i, entry in enumerate(entries, 1):
        print(
            f"[{i}/{len(entries)}] {entry['script']} ...", file=sys.stderr, flush=True
        )
        r = run_script(entry, out_dir, env, args.timeout)
        status = "ok" if r["returncode"] == 0 else f"FAILED ({r['returncode']})"
        print(
            f"[{i}/{len(entries)}] {entry['script']}: {status}, {r['seconds']} s "
            f"-> {out_dir / r['output']}",
            file=sys.stderr,
            flush=True,
        )
        results.append(r)
    summary = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "data_home": env.get("SKHASH_DATA"),
        "scripts": results,
    }
    _atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    lines = ["| script | kind | status | seconds | output |", "|---|---|---|---|---|"]
    for r in results:
        status = "ok" if r["returncode"] == 0 else f"failed ({r['returncode']})"
        lines.append(
            f"| `{r['command']}` | {r['kind']} | {status} | {r['seconds']} "
            f"| {r['output']} |"
        )
    _atomic_write_text(out_dir / "summary.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if all(r["returncode"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
