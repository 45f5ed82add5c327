#!/usr/bin/env python3
"""Backup benchmark: a generated archive (SQLite), `cms backup` into an empty folder, again into
the same folder (nothing changed: only the database is taken again), `cms backup --verify`, and
as the reference in the same run `cp -r` of the same data folder (what a user would do by hand
with the site stopped). Then the portable export: `cms export --no-media` of the same site and
`cms import keepsake` of it into an empty SQLite database, in rows per second. Prints seconds,
peak RSS and the ratios.

Usage: bench/backup.py [--photos 100000]
"""

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(cmd, env):
    """Runs cmd; returns (seconds, peak RSS of the child in MB, stdout)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed: {err.strip()}")
    return time.monotonic() - start, usage.ru_maxrss / 1024, out.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100_000)
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet", "--bin", "cms"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    cms = os.path.join(target, "release", "cms")
    work = tempfile.mkdtemp(prefix="keepsake-backup-bench-")
    try:
        env = dict(os.environ, CMS_DATA_DIR=os.path.join(work, "data"), CMS_LOG="warn")
        env.pop("CMS_DATABASE_URL", None)
        env.pop("CMS_SECRET_KEY", None)
        n = a.photos
        gen, _, _ = timed([cms, "generate", "--photos", str(n), "--albums", str(max(n // 50, 10)),
                           "--posts", str(max(n // 10, 20)), "--videos", str(max(n // 500, 2)),
                           "--subscribers", str(max(n // 10, 10))], env)
        files = sum(len(fs) for _, _, fs in os.walk(os.path.join(work, "data", "media")))
        db_mb = os.path.getsize(os.path.join(work, "data", "cms.db")) / 1e6
        print(f"archive: {n} photos, {files} media files, database {db_mb:.0f} MB (generated in {gen:.1f} s)")
        dest = os.path.join(work, "backup")
        first, rss1, said = timed([cms, "backup", dest], env)
        second, rss2, said2 = timed([cms, "backup", dest], env)
        verify, rss3, _ = timed([cms, "backup", "--verify", dest], env)
        start = time.monotonic()
        subprocess.run(["cp", "-r", os.path.join(work, "data"), os.path.join(work, "copy")], check=True)
        cp = time.monotonic() - start
        print(f"cms backup (empty folder):   {first:6.1f} s  {rss1:5.0f} MB peak")
        print(f"cms backup (same folder):    {second:6.1f} s  {rss2:5.0f} MB peak  = {second / first:.0%} of the first")
        print(f"cms backup --verify:         {verify:6.1f} s  {rss3:5.0f} MB peak")
        print(f"cp -r of the data folder:    {cp:6.1f} s  (reference, site stopped)")
        print(f"ratio first backup / cp -r:  {first / cp:.2f}")
        print(said2.splitlines()[-1] if said2 else said)
        export = os.path.join(work, "export")
        exp, rss4, said3 = timed([cms, "export", "--no-media", export], env)
        rows = sum(1 for _, _, fs in os.walk(os.path.join(export, "tables")) for f in fs
                   for _ in open(os.path.join(export, "tables", f), "rb"))
        env2 = dict(env, CMS_DATA_DIR=os.path.join(work, "imported"))
        imp, rss5, _ = timed([cms, "import", "keepsake", export], env2)
        print(f"cms export --no-media:       {exp:6.1f} s  {rss4:5.0f} MB peak  {rows / exp:8.0f} rows/s ({rows} rows)")
        print(f"cms import keepsake:         {imp:6.1f} s  {rss5:5.0f} MB peak  {rows / imp:8.0f} rows/s")
        print(f"ratio export / cp -r:        {exp / cp:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
