"""What the benchmarks share: the release binary, free ports, CPU time from /proc, waiting for
a server, and wrk runs with the CPU each group of processes spent per request."""
import os, re, socket, subprocess, sys, tempfile, time, urllib.error, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf('SC_CLK_TCK')


def cms_binary(build=True):
    """The release `cms`: KEEPSAKE_CMS_BIN if set, else built (quietly) into the target dir."""
    given = os.environ.get('KEEPSAKE_CMS_BIN')
    if given:
        return given
    if build:
        print('building the release binary…', flush=True)
        subprocess.run(['cargo', 'build', '--release', '--locked', '--quiet', '--bin', 'cms'], cwd=ROOT, check=True)
    target = os.environ.get('CARGO_TARGET_DIR', os.path.join(ROOT, 'target'))
    return os.path.join(target, 'release', 'cms')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def cpu_seconds(pids):
    """utime + stime of the processes (all their threads), in seconds; gone ones count 0."""
    total = 0
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / TICK


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception:
        return None


def wait_http(url, timeout=180, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if http_status(url) == 200:
            return
        time.sleep(step)
    sys.exit(f'{url} did not answer')


def fetch(url):
    """The body as sent (no compression asked for)."""
    req = urllib.request.Request(url, headers={'Accept-Encoding': 'identity'})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def wrk(url, seconds, connections, cpus='1', pause_ms=None):
    """One wrk run (pinned to `cpus` unless None): requests, requests/s, p50/p99 in ms and the
    number of non-2xx answers. With `pause_ms`, each connection waits that long after each
    answer before its next request: a steady load below what the server could take, instead of
    as much as it can."""
    cmd = ['wrk', '-t1', f'-c{connections}', f'-d{seconds}s', '--latency', url]
    script = None
    if pause_ms:
        with tempfile.NamedTemporaryFile('w', suffix='.lua', delete=False) as f:
            f.write(f'function delay()\n  return {int(pause_ms)}\nend\n')
            script = f.name
        cmd[1:1] = ['-s', script]
    if cpus:
        cmd = ['taskset', '-c', cpus] + cmd
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finally:
        if script:
            os.unlink(script)

    def pct(p):
        m = re.search(rf'^\s+{p}(?:\.0+)?%\s+([\d.]+)(us|ms|s)', out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == 'us' else v * 1000 if unit == 's' else v
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    return {'requests': int(re.search(r'(\d+) requests in', out).group(1)),
            'rps': float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1)),
            'p50': pct(50), 'p99': pct(99),
            'errors': int(errors.group(1)) if errors else 0}


def measure(url, seconds, connections, groups, cpus='1', pause_ms=None):
    """A warm-up second, then a wrk run; the run's figures with `cpu_us`, the CPU microseconds
    per request of each group of processes. Exits on any non-2xx answer."""
    wrk(url, 1, connections, cpus, pause_ms)
    before = [cpu_seconds(g) for g in groups]
    r = wrk(url, seconds, connections, cpus, pause_ms)
    if r['errors']:
        sys.exit(f'{url}: {r["errors"]} non-2xx answers')
    r['cpu_us'] = [(cpu_seconds(g) - b) / max(r['requests'], 1) * 1e6 for g, b in zip(groups, before)]
    return r
