"""Regenerate every benchmark table: run the entries of ``registry.py``.

Usage::

    python benchmarks/reproduce.py [--output-dir DIR] [--data-home DIR]
                                   [-k PATTERN] [--reproduction-only] [--list]
    skhash bench --reproduce [--output-dir DIR] [--data-home DIR]

What runs is declared, not guessed: ``registry.py`` next to this file lists,
for every ``bench_*.py``, its default command, whether its table is a
reproduction (the paper and table it sets our numbers beside) or a
measurement (speed, memory, our own mAP), the documentation page its output
goes to, and the private modules a kernel-level script imports. The entries
run one after the other, in the registry's order, with ``SKHASH_DATA`` set to
``--data-home`` when given (the scripts read ``../shared/data``-style local
copies). Each entry's output (stdout and stderr) is saved as
``<output-dir>/<name>.txt``; ``summary.json`` and ``summary.md`` record, per
entry, the exact command, exit status, run time, kind and page. The pages of
``doc/benchmarks*.rst`` and ``doc/reproduction*.rst`` are written from these
outputs. The exit status is 1 when any script failed, else 0.

Real-data scripts take minutes to hours on 2 cores; ``--list`` shows what
would run and ``-k`` selects entries by a substring of their name or script.
The benchmarks ship with the source checkout, not with the installed package.
"""

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_registry(folder=HERE):
    """The entries declared in ``<folder>/registry.py``, in running order."""
    path = Path(folder) / "registry.py"
    spec = importlib.util.spec_from_file_location("_benchmark_registry", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.REGISTRY)


def check_registry(entries, folder=HERE):
    """``(undeclared, missing)``: scripts without an entry, entries without a script."""
    scripts = {p.name for p in Path(folder).glob("bench_*.py")}
    declared = {e.script for e in entries}
    return sorted(scripts - declared), sorted(declared - scripts)


def describe(entry):
    """The lines ``--list`` prints for one entry."""
    lines = [f"{entry.name}  [{entry.kind}]  {entry.summary}", f"    {entry.command}"]
    if entry.kind == "reproduction":
        lines.append(f"    reproduces: {entry.paper}: {entry.table}")
    if entry.doc:
        lines.append(f"    page: doc/{entry.doc}")
    if entry.kernel_level:
        lines.append(f"    kernel-level: {', '.join(entry.kernel_level)}")
    return lines


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


def run_script(entry, out_dir, env, timeout, folder=HERE):
    cmd = [sys.executable, str(Path(folder) / entry.script), *entry.args]
    t0 = time.perf_counter()
    try:
        res = subprocess.run(
            cmd,
            cwd=folder,
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
    out_file = out_dir / f"{entry.name}.txt"
    _atomic_write_text(out_file, output)
    return {
        "name": entry.name,
        "script": entry.script,
        "kind": entry.kind,
        "command": entry.command,
        "paper": entry.paper,
        "table": entry.table,
        "doc": entry.doc,
        "kernel_level": list(entry.kernel_level),
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
        help="run only the entries whose name or script contains PATTERN",
    )
    p.add_argument(
        "--reproduction-only",
        action="store_true",
        help="run only the reproduction entries (skip speed, memory and our "
        "own mAP measurements)",
    )
    p.add_argument(
        "--timeout", type=float, default=None, help="seconds allowed per script"
    )
    p.add_argument(
        "--list", action="store_true", help="print the registry's entries and exit"
    )
    args = p.parse_args(argv)

    entries = load_registry()
    undeclared, missing = check_registry(entries)
    for script in undeclared:
        print(
            f"warning: {script} is not declared in registry.py; not run",
            file=sys.stderr,
        )
    for script in missing:
        print(
            f"warning: registry.py declares {script}, which is not in {HERE}",
            file=sys.stderr,
        )
    if args.pattern:
        entries = [
            e for e in entries if args.pattern in e.name or args.pattern in e.script
        ]
    if args.reproduction_only:
        entries = [e for e in entries if e.kind == "reproduction"]
    if args.list:
        for e in entries:
            print("\n".join(describe(e)))
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
        print(f"[{i}/{len(entries)}] {entry.name} ...", file=sys.stderr, flush=True)
        r = run_script(entry, out_dir, env, args.timeout)
        status = "ok" if r["returncode"] == 0 else f"FAILED ({r['returncode']})"
        print(
            f"[{i}/{len(entries)}] {entry.name}: {status}, {r['seconds']} s "
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
    lines = [
        "| command | kind | page | status | seconds | output |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        status = "ok" if r["returncode"] == 0 else f"failed ({r['returncode']})"
        lines.append(
            f"| `{r['command']}` | {r['kind']} | {r['doc'] or '-'} | {status} "
            f"| {r['seconds']} | {r['output']} |"
        )
    _atomic_write_text(out_dir / "summary.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if all(r["returncode"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
