#!/usr/bin/env python3
"""Helpers for bench/load.sh (standard library only).

  loadstats.py check FILE            a GraphQL response: exits 1 (printing it) on "errors" or null data
  loadstats.py dbcpu DBNAME OUT      samples the CPU ticks of the PostgreSQL backends serving DBNAME
                                     every 50 ms until SIGTERM, then writes the ticks used to OUT
  loadstats.py oha FILE BYTES        oha's JSON: "ok/s p50_ms p99_ms ok failed note"; the note names the
                                     failures, or a mean answer size other than BYTES (changed answers)
  loadstats.py pgbench OUT LOGPREFIX pgbench's output and per-transaction logs: "tps p50_ms p99_ms count"
"""
import glob
import json
import os
import signal
import sys
import time


def check(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        body = json.loads(text)
    except ValueError:
        sys.exit(f"not JSON: {text[:500]}")
    if body.get("errors") or not body.get("data"):
        sys.exit(f"the query failed: {text[:2000]}")


def postgres_children():
    """The postmaster's pid and {pid: (title, starttime, ticks)} of its children."""
    procs = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                head, rest = f.read().rsplit(")", 1)
            if not head.endswith("(postgres"):
                continue
            fields = rest.split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                title = f.read().replace(b"\0", b" ").decode(errors="replace")
            # Fields after the command: state is index 0, ppid 1, utime 11, stime 12,
            # cutime 13, cstime 14, starttime 19.
            procs[int(pid)] = (title, int(fields[1]), fields[19], fields[11:15])
        except (OSError, IndexError, ValueError):
            continue
    # The postmaster: the one postgres process whose parent is not a postgres process.
    master = next((p for p, v in procs.items() if v[1] not in procs), None)
    children = {p: (v[0], v[2], int(v[3][0]) + int(v[3][1])) for p, v in procs.items() if v[1] == master}
    reaped = int(procs[master][3][2]) + int(procs[master][3][3]) if master in procs else 0
    return master, reaped, children


def dbcpu(dbname, out):
    """CPU ticks used by the backends of DBNAME and their parallel workers while it runs.

    Live processes are sampled every 100 ms; the CPU of those that exit (pgbench's backends
    at its end, parallel workers after each query) is taken exactly from what the kernel adds
    to the postmaster's cutime/cstime when it reaps them, less what other databases' exiting
    processes used (their last sample)."""
    def ours(title, mine):
        if f" {dbname} " in title:
            return True
        marker = "parallel worker for PID "
        return marker in title and title.split(marker, 1)[1].split()[0].isdigit() \
            and int(title.split(marker, 1)[1].split()[0]) in mine

    master, reaped0, first = postgres_children()
    seen = {}  # (pid, starttime) -> [base, last, ours]
    def sample():
        _, reaped, kids = postgres_children()
        mine = {p for p, (t, _, _) in kids.items() if f" {dbname} " in t}
        alive = set()
        for pid, (title, start, ticks) in kids.items():
            key = (pid, start)
            alive.add(key)
            entry = seen.setdefault(key, [ticks if pid in first and first[pid][1] == start else 0, ticks, False])
            entry[1] = ticks
            entry[2] = entry[2] or ours(title, mine)
        return reaped, alive
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    while not stop:
        sample()
        time.sleep(0.1)
    reaped, alive = sample()
    used = reaped - reaped0
    for key, (base, last, mine) in seen.items():
        if key in alive:
            used += last - base if mine else 0
        elif mine:
            used -= base       # its whole CPU is in the reaped total; count only this window's
        else:
            used -= last       # another database's process that exited: not ours
    with open(out, "w", encoding="ascii") as f:
        f.write(f"{max(used, 0)}\n")


def oha(path, expected_bytes):
    """Successful requests per second, p50 and p99 (all answers), successes, failures, a note."""
    with open(path, encoding="utf-8") as f:
        r = json.load(f)
    codes = {str(k): v for k, v in (r.get("statusCodeDistribution") or {}).items()}
    ok = codes.get("200", 0)
    errors = {k: v for k, v in (r.get("errorDistribution") or {}).items() if "deadline" not in k}
    failed = sum(v for k, v in codes.items() if k != "200") + sum(errors.values())
    notes = [f"{v}x HTTP {k}" for k, v in sorted(codes.items()) if k != "200"]
    notes += [f"{v}x {k}" for k, v in errors.items()]
    summary = r["summary"]
    size = summary.get("sizePerRequest") or 0
    if not failed and expected_bytes and abs(size - expected_bytes) > 0.01 * expected_bytes:
        notes.append(f"mean answer {size:.0f} B, checked answer {expected_bytes} B")
    pct = r.get("latencyPercentiles") or {}
    p50, p99 = ((pct.get(p) or 0) * 1000 for p in ("p50", "p99"))
    note = "; ".join(notes) or "-"
    print(f"{ok / summary['total']:.1f} {p50:.2f} {p99:.2f} {ok} {failed} {note}")


def pgbench(out, prefix):
    with open(out, encoding="utf-8") as f:
        text = f.read()
    tps = None
    for line in text.splitlines():
        if line.startswith("tps = "):
            tps = float(line.split()[2])
            if "without initial connection time" in line:
                break
    if tps is None:
        sys.exit(f"pgbench printed no tps:\n{text}")
    latencies = []
    for name in glob.glob(prefix + ".*"):
        with open(name, encoding="ascii") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    latencies.append(int(parts[2]))
    if not latencies:
        sys.exit("pgbench wrote no transaction log")
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1000
    print(f"{tps:.1f} {pick(0.50):.2f} {pick(0.99):.2f} {len(latencies)}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "check":
        check(*args)
    elif cmd == "dbcpu":
        dbcpu(*args)
    elif cmd == "oha":
        oha(args[0], int(args[1]))
    elif cmd == "pgbench":
        pgbench(*args)
    else:
        sys.exit(__doc__)
