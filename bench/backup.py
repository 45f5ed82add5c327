#!/usr/bin/env python3
"""Backup benchmark: a generated archive (SQLite) served by `cms serve` while readers load it at
a steady rate; `cms backup` into an empty folder, again into the same folder (nothing changed:
only the database is taken again), `cms backup --verify`, and as the reference in the same run
`cp -a` of the same data folder (what a user would do by hand with the site stopped; it keeps
hard links, as the backup does). The readers' latency (p50, p99) is measured before the backups
and during each. Then the portable export: `cms export --no-media` of the same site and
`cms import keepsake` of it into an empty SQLite database, in rows per second. Prints seconds,
peak RSS and the ratios.

With --unlink-media every photo's files become files of their own (the generator hard-links
them to 64 shared images), as a real archive's are: the first backup then copies every byte,
and the second's share of it is what an archive owner would see.

Usage: bench/backup.py [--photos 100000] [--rate 40] [--unlink-media]
"""

import argparse
import http.client
import os
import random
import re
import threading
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import free_port  # noqa: E402


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


class Readers:
    """Threads that request a mix of pages and API answers at a steady total rate (a busy fan
    site's readers, not a flood) and keep each request's latency."""

    def __init__(self, port, rate, photos, threads=4):
        self.port, self.photos, self.threads = port, photos, threads
        self.interval = threads / rate
        self.lat, self.errors = [], 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.workers = []

    def path(self, rng):
        pick = rng.random()
        if pick < 0.4:
            return f"/photos/{rng.randint(1, self.photos)}"
        if pick < 0.55:
            return "/"
        if pick < 0.7:
            return f"/posts?page={rng.randint(1, 50)}"
        if pick < 0.85:
            return "/gallery"
        return f"/api/v1/posts?page={rng.randint(1, 50)}"

    def run(self, seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        due = time.monotonic()
        while not self.stop.is_set():
            due += self.interval
            start = time.monotonic()
            try:
                conn.request("GET", self.path(rng), headers={"Accept-Encoding": "identity"})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                ok = False
            took = time.monotonic() - start
            with self.lock:
                self.lat.append(took)
                self.errors += 0 if ok else 1
            wait = due - time.monotonic()
            if wait > 0:
                self.stop.wait(wait)

    def __enter__(self):
        self.workers = [threading.Thread(target=self.run, args=(i,)) for i in range(self.threads)]
        for w in self.workers:
            w.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for w in self.workers:
            w.join()

    def summary(self):
        lat = sorted(self.lat)
        if not lat:
            return "no requests"
        q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
        return f"{len(lat)} requests, p50 {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, {self.errors} errors"


def serve(cms, env):
    port = free_port()
    proc = subprocess.Popen([cms, "serve", "--bind", f"127.0.0.1:{port}"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("cms serve did not start")


def database_seconds(said):
    m = re.search(r"\) in ([0-9.]+) s;", said)
    return float(m.group(1)) if m else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=40, help="readers' requests per second")
    ap.add_argument("--unlink-media", action="store_true",
                    help="give every media file its own copy, as a real archive has")
    a = ap.parse_args()
    cms = benchlib.cms_binary()
    work = tempfile.mkdtemp(prefix="keepsake-backup-bench-")
    try:
        env = dict(os.environ, CMS_DATA_DIR=os.path.join(work, "data"), CMS_LOG="warn")
        env.pop("CMS_DATABASE_URL", None)
        env.pop("CMS_SECRET_KEY", None)
        n = a.photos
        gen, _, _ = timed([cms, "generate", "--photos", str(n), "--albums", str(max(n // 50, 10)),
                           "--posts", str(max(n // 10, 20)), "--videos", str(max(n // 500, 2)),
                           "--subscribers", str(max(n // 10, 10))], env)
        if a.unlink_media:
            start, copied = time.monotonic(), 0
            for root, _, fs in os.walk(os.path.join(work, "data", "media")):
                for f in fs:
                    p = os.path.join(root, f)
                    st = os.lstat(p)
                    if st.st_nlink > 1:
                        shutil.copyfile(p, p + ".unlink")
                        os.replace(p + ".unlink", p)
                        copied += st.st_size
            print(f"media unlinked: {copied / 1e9:.1f} GB written in {time.monotonic() - start:.0f} s")
        files = sum(len(fs) for _, _, fs in os.walk(os.path.join(work, "data", "media")))
        db_mb = os.path.getsize(os.path.join(work, "data", "cms.db")) / 1e6
        print(f"archive: {n} photos, {files} media files, database {db_mb:.0f} MB (generated in {gen:.1f} s)")
        dest = os.path.join(work, "backup")
        server, port = serve(cms, env)
        try:
            with Readers(port, a.rate, n) as quiet:
                time.sleep(10)
            with Readers(port, a.rate, n) as during1:
                first, rss1, said = timed([cms, "backup", dest], env)
            with Readers(port, a.rate, n) as during2:
                second, rss2, said2 = timed([cms, "backup", dest], env)
        finally:
            server.terminate()
            server.wait()
        verify, rss3, _ = timed([cms, "backup", "--verify", dest], env)
        start = time.monotonic()
        subprocess.run(["cp", "-a", os.path.join(work, "data"), os.path.join(work, "copy")], check=True)
        cp = time.monotonic() - start
        shutil.rmtree(os.path.join(work, "copy"), ignore_errors=True)
        db1, db2 = database_seconds(said), database_seconds(said2)
        print(f"cms backup (empty folder):   {first:6.1f} s  {rss1:5.0f} MB peak  (database part {db1:.1f} s)")
        print(f"cms backup (same folder):    {second:6.1f} s  {rss2:5.0f} MB peak  = {second / first:.0%} of the first  (database part {db2:.1f} s)")
        print(f"cms backup --verify:         {verify:6.1f} s  {rss3:5.0f} MB peak")
        print(f"cp -a of the data folder:    {cp:6.1f} s  (reference, site stopped)")
        print(f"ratio first backup / cp -a:  {first / cp:.2f}")
        print(f"readers, {a.rate:.0f}/s, no backup:        {quiet.summary()}")
        print(f"readers during the first backup:  {during1.summary()}")
        print(f"readers during the second backup: {during2.summary()}")
        print(said2.splitlines()[-1] if said2 else said)
        export = os.path.join(work, "export")
        exp, rss4, said3 = timed([cms, "export", "--no-media", export], env)
        rows = sum(1 for _, _, fs in os.walk(os.path.join(export, "tables")) for f in fs
                   for _ in open(os.path.join(export, "tables", f), "rb"))
        env2 = dict(env, CMS_DATA_DIR=os.path.join(work, "imported"))
        imp, rss5, _ = timed([cms, "import", "keepsake", export], env2)
        print(f"cms export --no-media:       {exp:6.1f} s  {rss4:5.0f} MB peak  {rows / exp:8.0f} rows/s ({rows} rows)")
        print(f"cms import keepsake:         {imp:6.1f} s  {rss5:5.0f} MB peak  {rows / imp:8.0f} rows/s")
        print(f"ratio export / cp -a:        {exp / cp:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
