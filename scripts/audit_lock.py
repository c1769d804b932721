"""Audit a lock file for published vulnerabilities with pip-audit, or say plainly why not.

pip-audit reports "No known vulnerabilities found" and exits 0 even when it could look
up no package at all (the vulnerability service unreachable, or answering "not found" for
every release, as on machines without access to it). This reads its JSON report instead:
a vulnerability fails; every package unexamined is a skip with a clear message (exit 0);
some packages unexamined is a failure naming them.

    python scripts/audit_lock.py requirements-spark.lock
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TIMEOUT_S = 600
NETWORK_WORDS = ("connection", "timed out", "timeout", "resolve", "unreachable", "ssl", "proxy")


def run_audit(lock: Path, report: Path) -> subprocess.CompletedProcess[str]:
    """pip-audit on the hashed lock without pip (no environment is built)."""
    cmd = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(lock),
        "--require-hashes",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--format",
        "json",
        "--output",
        str(report),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def verdict(report: dict[str, Any]) -> tuple[int, str]:
    """Exit code and message from pip-audit's JSON report."""
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    vulnerable = [d for d in deps if d.get("vulns")]
    if vulnerable:
        lines = [
            f"  {d['name']} {d.get('version', '')}: "
            + ", ".join(
                f"{v['id']} (fixed in {', '.join(v.get('fix_versions', [])) or '-'})"
                for v in d["vulns"]
            )
            for d in vulnerable
        ]
        return 1, "audit: known vulnerabilities in the lock:\n" + "\n".join(lines)
    if deps and len(skipped) == len(deps):
        return 0, (
            f"audit: SKIPPED: the vulnerability database could not be consulted from this "
            f"machine (none of the {len(deps)} locked packages could be looked up: "
            f"{skipped[0]['skip_reason']}). Run `make audit` where it can be reached."
        )
    if skipped:
        names = ", ".join(d["name"] for d in skipped)
        return 1, f"audit: {len(skipped)} of {len(deps)} packages could not be audited: {names}"
    return 0, f"audit: no known vulnerabilities in {len(deps)} locked packages"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    lock = Path(argv[0])
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "audit.json"
        try:
            proc = run_audit(lock, report_path)
        except subprocess.TimeoutExpired:
            print(f"audit: SKIPPED: pip-audit got no answer within {TIMEOUT_S} s")
            return 0
        if not report_path.exists():
            err = proc.stderr.strip()
            if any(word in err.lower() for word in NETWORK_WORDS):
                last = err.splitlines()[-1] if err else ""
                print(f"audit: SKIPPED: the vulnerability database cannot be reached: {last}")
                return 0
            print(f"audit: pip-audit failed (exit {proc.returncode}):\n{err}", file=sys.stderr)
            return proc.returncode or 1
        code, message = verdict(json.loads(report_path.read_text()))
    print(message, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
