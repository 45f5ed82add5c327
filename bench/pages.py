#!/usr/bin/env python3
"""Load benchmark of Keepsake's public pages against nginx serving the same bytes.

Usage: bench/pages.py [--seconds N] [--connections N] [--divisor N]

Builds the release binary, starts `cms serve --demo` twice in a temporary folder (one with the
page cache, one with it turned off) and nginx with a copy of each page's bytes, all pinned to
CPU 0, then drives each with wrk pinned to CPU 1. For every page it prints requests per second,
p50/p99 latency and the server's CPU time per request (from /proc/PID/stat), and the ratio of
Keepsake's CPU per request to nginx's. Loopback only; bounded in time. Needs wrk and nginx
(Debian: apt-get install wrk nginx-light).
"""
import argparse, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf('SC_CLK_TCK')
PAGES = [
    ('home', '/'),
    ('post', '/posts/heartstopper-season-2-captures'),
    ('album', '/albums/s02e01-out'),
    ('photo', '/photos/1'),
]


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except FileNotFoundError:
            pass
    return total / TICK


def children(pid):
    out = subprocess.run(['pgrep', '-P', str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def wait_http(url, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.3)
    sys.exit(f'{url} did not answer')


def fetch(url):
    req = urllib.request.Request(url, headers={'Accept-Encoding': 'identity'})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read(), r.headers.get('Content-Type', 'text/html')


def wrk(url, seconds, connections):
    out = subprocess.run(
        ['taskset', '-c', '1', 'wrk', '-t1', f'-c{connections}', f'-d{seconds}s', '--latency', url],
        capture_output=True, text=True, check=True).stdout
    reqs = int(re.search(r'(\d+) requests in', out).group(1))
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))

    def pct(p):
        m = re.search(rf'^\s+{p}%\s+([\d.]+)(us|ms|s)', out, re.M)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == 'us' else v * 1000 if unit == 's' else v
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    return {'requests': reqs, 'rps': rps, 'p50': pct(50), 'p99': pct(99), 'errors': int(errors.group(1)) if errors else 0}


def measure(pids, url, seconds, connections):
    wrk(url, 1, connections)  # warm: fills caches, opens connections
    before = cpu_seconds(pids)
    r = wrk(url, seconds, connections)
    r['cpu_us'] = (cpu_seconds(pids) - before) / max(r['requests'], 1) * 1e6
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seconds', type=int, default=5)
    ap.add_argument('--connections', type=int, default=32)
    ap.add_argument('--divisor', type=int, default=1, help='demo photos: real counts divided by this')
    args = ap.parse_args()
    for tool in ('wrk', 'nginx', 'taskset'):
        if not shutil.which(tool):
            sys.exit(f'{tool} is missing: apt-get install wrk nginx-light util-linux')
    target = os.environ.get('CARGO_TARGET_DIR', os.path.join(ROOT, 'target'))
    subprocess.run(['cargo', 'build', '--release', '--locked', '--quiet', '--bin', 'cms'], cwd=ROOT, check=True)
    binary = os.path.join(target, 'release', 'cms')
    work = tempfile.mkdtemp(prefix='keepsake-bench-')
    os.chmod(work, 0o755)  # nginx's worker runs as nobody and must read the copied pages
    procs = []
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith('CMS_')}
        env.update(CMS_LOG='warn', CMS_DATA_DIR=os.path.join(work, 'data'))
        cached_port, uncached_port, nginx_port = free_port(), free_port(), free_port()
        print(f'loading the demo archive (photos = real counts / {args.divisor})…', flush=True)
        subprocess.run([binary, 'migrate'], env=env, cwd=work, check=True, capture_output=True)
        cached = subprocess.Popen(['taskset', '-c', '0', binary, 'serve', '--demo', '--demo-photo-divisor', str(args.divisor),
                                   '--bind', f'127.0.0.1:{cached_port}'], env=env, cwd=work, stdout=subprocess.DEVNULL)
        procs.append(cached)
        wait_http(f'http://127.0.0.1:{cached_port}/healthz', timeout=900)
        uncached = subprocess.Popen(['taskset', '-c', '0', binary, 'serve', '--bind', f'127.0.0.1:{uncached_port}'],
                                    env={**env, 'CMS_PAGE_CACHE_MB': '0'}, cwd=work, stdout=subprocess.DEVNULL)
        procs.append(uncached)
        wait_http(f'http://127.0.0.1:{uncached_port}/healthz')

        docroot = os.path.join(work, 'nginx-root')
        for _, path in PAGES:
            body, _ = fetch(f'http://127.0.0.1:{cached_port}{path}')
            dest = os.path.join(docroot, path.lstrip('/'), 'index.html')
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, 'wb') as f:
                f.write(body)
        conf = os.path.join(work, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(f"""daemon off; worker_processes 1; worker_cpu_affinity 01; pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{ access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000; default_type text/html;
  server {{ listen 127.0.0.1:{nginx_port}; root {docroot}; location = / {{ try_files /index.html =404; }} location / {{ try_files $uri/index.html $uri =404; }} }} }}
""")
        nginx = subprocess.Popen(['taskset', '-c', '0', 'nginx', '-c', conf, '-p', work + '/'], stderr=subprocess.DEVNULL)
        procs.append(nginx)
        wait_http(f'http://127.0.0.1:{nginx_port}/')
        time.sleep(0.5)
        nginx_pids = [nginx.pid] + children(nginx.pid)

        rows = []
        for name, path in PAGES:
            size = len(fetch(f'http://127.0.0.1:{cached_port}{path}')[0])
            c = measure([cached.pid], f'http://127.0.0.1:{cached_port}{path}', args.seconds, args.connections)
            u = measure([uncached.pid], f'http://127.0.0.1:{uncached_port}{path}', args.seconds, args.connections)
            n = measure(nginx_pids, f'http://127.0.0.1:{nginx_port}{path}', args.seconds, args.connections)
            rows.append((name, size, c, u, n))
            for label, r in (('cached', c), ('uncached', u), ('nginx', n)):
                if r['errors']:
                    print(f'warning: {name} {label}: {r["errors"]} error responses')

        print()
        print(f'{args.connections} connections, {args.seconds}s per run, server on CPU 0, wrk on CPU 1')
        head = f'{"page":<7}{"bytes":>8} | {"cached µs/req":>13}{"req/s":>9}{"p50 ms":>8}{"p99 ms":>8} | {"uncached µs/req":>15}{"req/s":>9}{"p99 ms":>8} | {"nginx µs/req":>12}{"req/s":>9}{"p99 ms":>8} | {"cached/nginx":>12}'
        print(head)
        print('-' * len(head))
        for name, size, c, u, n in rows:
            ratio = c['cpu_us'] / n['cpu_us'] if n['cpu_us'] else float('inf')
            print(f'{name:<7}{size:>8} | {c["cpu_us"]:>13.1f}{c["rps"]:>9.0f}{c["p50"]:>8.2f}{c["p99"]:>8.2f} | '
                  f'{u["cpu_us"]:>15.1f}{u["rps"]:>9.0f}{u["p99"]:>8.2f} | {n["cpu_us"]:>12.1f}{n["rps"]:>9.0f}{n["p99"]:>8.2f} | {ratio:>11.2f}x')
        print()
        print('Goals: cached ≤ 2x nginx CPU per request; uncached ≤ 100 µs CPU per request.')
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
