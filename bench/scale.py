#!/usr/bin/env python3
"""Scale-out benchmarks (issue 16): what PostgreSQL, a Garage bucket and several nodes cost.

Usage: bench/scale.py [--seconds 5] [--connections 16] [--photos 1000] [--rounds 3]
                      [--skip import,backends,nodes] [--sslmode MODE] [--json FILE]

1. import:   `cms import gallery` of PHOTOS 1920x1080 captures (shared/tools/make-captures.py)
             into a media folder and into a Garage bucket, same database backend (SQLite):
             images per CPU-second of cms (wait4: user + system), and of cms plus Garage.
             Goal: the bucket at ≥ 80 % of the folder's rate.
2. backends: the demo archive (`cms serve --demo`) on SQLite and on PostgreSQL, page cache off
             so every request builds its page, `cms serve` pinned to CPU 0 and wrk to CPU 1:
             the app's CPU per page, and on PostgreSQL the server's too (all its processes,
             from /proc), for the home, a post with eight album embeds, search, an album page
             and a photo; and the statements each page sends PostgreSQL (log_statement=all on
             the benchmark's database, counted in the server's log). Both servers stay up
             and take turns, page by page, ROUNDS times (the medians are shown): this VM's
             speed drifts by ±30 % between runs. Goal: app + database within 1.5x of
             SQLite's per page, a fixed small number of statements per page.
3. nodes:    1, 2 and 3 `cms serve` on the PostgreSQL demo behind nginx (least_conn, as
             docs/DEPLOY.md), page cache on: requests/s through nginx and the nodes' CPU per
             request for the home, an album page and a photo, once as fast as the machine
             goes and once at a steady load below it (each wrk connection pausing after each
             answer). Goal: CPU per request the same within 10 % whatever the number of
             nodes. All processes share this machine's cores, so throughput cannot grow past
             them here.

Needs wrk, nginx and taskset (installed like bench/run's), PostgreSQL on 127.0.0.1:5432
(KEEPSAKE_TEST_PG, as the tests), Garage (KEEPSAKE_GARAGE_BIN, or the build scripts/test
caches in ~/.cache/keepsake-tools). Prints tables; --json FILE writes the figures.
"""
import argparse, json, os, re, secrets, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib
from benchlib import ROOT, cpu_seconds, fetch as get, free_port, wait_http
MAKE = os.path.join(os.path.dirname(ROOT), 'shared', 'tools', 'make-captures.py')
PG = os.environ.get('KEEPSAKE_TEST_PG', 'postgres://postgres@127.0.0.1:5432/postgres')
SECRET = 'bench-secret-key-bench-secret-key-bench-secret'
# How long each wrk connection waits after an answer in the nodes' steady-load run.
STEADY_PAUSE_MS = 4


def postgres_pids():
    out = subprocess.run(['pgrep', '-x', 'postgres'], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def measure(url, seconds, connections, groups, cpus='1', pause_ms=None):
    """Requests/s and CPU microseconds per request of each group of processes."""
    r = benchlib.measure(url, seconds, connections, groups, cpus, pause_ms)
    return r['rps'], r['cpu_us']


def env_for(data, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('CMS_', 'AWS_'))}
    env.update(CMS_LOG='warn', CMS_DATA_DIR=data, CMS_SECRET_KEY=SECRET)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def psql(sql, url=PG):
    return subprocess.run(['psql', url, '-Atqc', sql], capture_output=True, text=True, check=True).stdout.strip()


class PgDatabase:
    def __init__(self, sslmode=None):
        self.name = f'keepsake_bench_{os.getpid()}_{secrets.token_hex(3)}'
        psql(f'CREATE DATABASE {self.name}')
        self.url = PG.split('?')[0].rsplit('/', 1)[0] + '/' + self.name
        if sslmode:
            self.url += f'?sslmode={sslmode}'


    def drop(self):
        psql(f'DROP DATABASE IF EXISTS {self.name} WITH (FORCE)')


class Serve:
    def __init__(self, cms, env, cpus=None, demo=False):
        self.port = free_port()
        cmd = [cms, 'serve', '--bind', f'127.0.0.1:{self.port}'] + (['--demo'] if demo else [])
        if cpus:
            cmd = ['taskset', '-c', cpus] + cmd
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        wait_http(f'http://127.0.0.1:{self.port}/healthz')

    def url(self, path):
        return f'http://127.0.0.1:{self.port}{path}'

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


class Garage:
    """A one-node Garage server with a bucket and a key, in a temp folder."""

    def __init__(self, work):
        self.bin = os.environ.get('KEEPSAKE_GARAGE_BIN') or os.path.expanduser(
            '~/.cache/keepsake-tools/garage-2.5.0/bin/garage')
        if not os.path.exists(self.bin):
            sys.exit(f'Garage is missing ({self.bin}): run scripts/test once, or set KEEPSAKE_GARAGE_BIN')
        self.dir = os.path.join(work, 'garage')
        os.makedirs(self.dir)
        rpc, self.s3, admin = free_port(), free_port(), free_port()
        self.conf = os.path.join(self.dir, 'garage.toml')
        with open(self.conf, 'w') as f:
            f.write(f'''metadata_dir = "{self.dir}/meta"
data_dir = "{self.dir}/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secrets.token_hex(32)}"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{self.s3}"
root_domain = ".s3.garage.localhost"
[admin]
api_bind_addr = "127.0.0.1:{admin}"
''')
        self.proc = subprocess.Popen([self.bin, '-c', self.conf, 'server'], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env={**os.environ, 'RUST_LOG': 'garage=warn'})
        deadline = time.time() + 30
        while subprocess.run([self.bin, '-c', self.conf, 'status'], capture_output=True).returncode != 0:
            if time.time() > deadline:
                sys.exit('garage did not start')
            time.sleep(0.1)
        node = self.cli('node', 'id', '-q').split('@')[0].strip()
        self.cli('layout', 'assign', '-z', 'dc1', '-c', '10G', node)
        self.cli('layout', 'apply', '--version', '1')
        key = self.cli('key', 'create', 'bench')
        self.key_id = re.search(r'Key ID:\s*(\S+)', key).group(1)
        self.secret = re.search(r'Secret key:\s*(\S+)', key).group(1)

    def cli(self, *args):
        return subprocess.run([self.bin, '-c', self.conf, *args], capture_output=True, text=True, check=True).stdout

    def bucket(self, name):
        self.cli('bucket', 'create', name)
        self.cli('bucket', 'allow', '--read', '--write', '--owner', name, '--key', 'bench')
        return dict(CMS_MEDIA_URL=f's3://{name}/site', CMS_S3_ENDPOINT=f'http://127.0.0.1:{self.s3}',
                    CMS_S3_REGION='garage', AWS_ACCESS_KEY_ID=self.key_id, AWS_SECRET_ACCESS_KEY=self.secret)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def bench_import(cms, work, photos, out):
    print(f'\n## {photos} captures imported into a folder and into a Garage bucket', flush=True)
    make = os.environ.get('MAKE_CAPTURES', MAKE)
    if not os.path.exists(make):
        sys.exit(f'cannot find make-captures.py at {make} (set MAKE_CAPTURES)')
    caps = os.path.join(work, 'captures')
    subprocess.run([sys.executable, make, caps, str(photos)], check=True, stdout=subprocess.DEVNULL)
    garage = Garage(work)
    try:
        rows = {}
        for name, extra in (('folder', {}), ('garage bucket', garage.bucket('bench-import'))):
            data = os.path.join(work, f'import-{name.split()[0]}')
            env = env_for(data, **extra)
            subprocess.run([cms, 'migrate'], env=env, check=True, stdout=subprocess.DEVNULL)
            g0 = cpu_seconds([garage.proc.pid])
            t0 = time.time()
            p = subprocess.Popen([cms, 'import', 'gallery', caps], env=env, stdout=subprocess.DEVNULL)
            _, status, ru = os.wait4(p.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f'cms import gallery into the {name} failed')
            wall = time.time() - t0
            cms_cpu = ru.ru_utime + ru.ru_stime
            store_cpu = cpu_seconds([garage.proc.pid]) - g0 if extra else 0.0
            rows[name] = dict(cms_cpu=cms_cpu, store_cpu=store_cpu, wall=wall,
                              rate=photos / cms_cpu, rate_with_store=photos / (cms_cpu + store_cpu))
        print(f'{"":<16}{"cms CPU s":>10}{"Garage CPU s":>14}{"wall s":>8}{"img/CPU-s":>11}{"incl. store":>12}')
        for name, r in rows.items():
            print(f'{name:<16}{r["cms_cpu"]:>10.2f}{r["store_cpu"]:>14.2f}{r["wall"]:>8.2f}'
                  f'{r["rate"]:>11.1f}{r["rate_with_store"]:>12.1f}')
        ratio = rows['garage bucket']['rate'] / rows['folder']['rate']
        ratio_all = rows['garage bucket']['rate_with_store'] / rows['folder']['rate']
        print(f'bucket / folder, images per CPU-second of cms: {ratio:.2f}  (goal ≥ 0.80); '
              f'counting Garage\'s CPU too: {ratio_all:.2f}')
        out['import'] = dict(photos=photos, rows=rows, ratio=ratio, ratio_with_store=ratio_all)
    finally:
        garage.stop()


def demo_pages(base):
    """The pages measured, found on the demo site itself."""
    album = re.search(r'href="(/albums/[^"?#]+)"', get(base + '/gallery/latest').decode()).group(1)
    photo = re.search(r'href="(/photos/\d+)"', get(base + album).decode()).group(1)
    return [('home', '/'), ('post, 8 album embeds', '/posts/heartstopper-season-2-captures'),
            ('search', '/search?q=heartstopper'), ('album', album), ('photo', photo),
            ('gallery', '/gallery')]


# The background workers' own statements (queue polls, the scheduler's due check, the batched
# view counts, the lease sweep), which land in the same log while a page is requested.
BACKGROUND = re.compile(r'"(jobs|email_outbox|digests|change_events|webhooks|webhook_deliveries)"'
                        r'|"posts"\."publish_at" <=|SET "views"|lease_owner|pg_notify')


def page_statements(lines):
    """The statements of `lines` (one log line each) that are not the background workers': a
    transaction (BEGIN … COMMIT on one backend) counts only if something in it is the page's."""
    out, open_tx = [], {}
    for line in lines:
        pid = re.search(r'\[(\d+)\]', line)
        pid = pid.group(1) if pid else ''
        text = re.split(r'(?:statement|execute [^:]*): ', line, maxsplit=1)[-1]
        if re.match(r'(BEGIN|START TRANSACTION)\b', text):
            open_tx[pid] = [line]
        elif pid in open_tx:
            open_tx[pid].append(line)
            if re.match(r'(COMMIT|ROLLBACK)\b', text):
                tx = open_tx.pop(pid)
                if any(not BACKGROUND.search(l) for l in tx[1:-1]):
                    out.extend(tx)
        elif not BACKGROUND.search(text):
            out.append(line)
    for tx in open_tx.values():
        out.extend(tx)
    return out


def statements_per_page(db, server, pages):
    """Statements PostgreSQL logs for one uncached request of each page (the background
    workers' polls left out), and how many of them are BEGIN/COMMIT."""
    log_dir = '/var/log/postgresql'
    logs = [os.path.join(log_dir, f) for f in os.listdir(log_dir)] if os.path.isdir(log_dir) else []
    if not logs:
        return {}
    log = max(logs, key=os.path.getmtime)
    counts = {}
    # Warm: a fresh server's first page also reads the settings and the gallery tree, once
    # per content version (the snapshot), which the measured requests do not.
    for _, path in pages:
        get(server.url(path))
    for name, path in pages:
        time.sleep(1.1)  # the content version is read again after a second: count it every time
        size = os.path.getsize(log)
        get(server.url(path))
        time.sleep(0.3)
        with open(log, errors='replace') as f:
            f.seek(size)
            # Simple queries log "statement: …", prepared ones (diesel's) "execute <name>: …".
            lines = [l for l in f if f'@{db.name} ' in l and re.search(r'(statement|execute [^:]*): ', l)]
        lines = page_statements(lines)
        counts[name] = (len(lines), sum(1 for l in lines if re.search(r': (BEGIN|COMMIT)\b', l)))
    return counts


def median(values):
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def bench_backends(cms, work, seconds, connections, out, sslmode=None, rounds=3):
    print('\n## the demo archive on SQLite and PostgreSQL, every page built (page cache off)'
          + (f', sslmode={sslmode}' if sslmode else ', no sslmode (Keepsake asks libpq for allow: no TLS on loopback)')
          + f'; median of {rounds} rounds, SQLite and PostgreSQL in turn', flush=True)
    db = PgDatabase(sslmode)
    servers = []
    try:
        sqlite_env = env_for(os.path.join(work, 'demo-sqlite'), CMS_PAGE_CACHE_MB=0)
        pg_env = env_for(os.path.join(work, 'demo-pg'), CMS_PAGE_CACHE_MB=0, CMS_DATABASE_URL=db.url)
        psql(f"ALTER DATABASE {db.name} SET log_statement = 'all'")
        sq = Serve(cms, sqlite_env, cpus='0', demo=True)
        servers.append(sq)
        pages = demo_pages(sq.url(''))
        pg = Serve(cms, pg_env, cpus='0', demo=True)
        servers.append(pg)
        statements = statements_per_page(db, pg, pages)
        psql(f"ALTER DATABASE {db.name} SET log_statement = 'none'")
        pg.stop()
        servers.remove(pg)
        # As a deployment runs it: statistics gathered (autovacuum would within a minute).
        psql('ANALYZE', db.url)
        pg = Serve(cms, pg_env, cpus='0')
        servers.append(pg)
        # Both servers stay up, pinned to the same core, and take turns: a drift in this VM's
        # speed (±30 % between runs seen here) then weighs on both sides of a ratio alike.
        samples = {'sqlite': {}, 'postgres': {}}
        for name, path in pages:
            for _ in range(rounds):
                for backend, s, groups in (('sqlite', sq, [[sq.proc.pid]]),
                                           ('postgres', pg, [[pg.proc.pid], postgres_pids()])):
                    rps, cpu = measure(s.url(path), seconds, connections, groups)
                    samples[backend].setdefault(name, []).append(
                        dict(rps=rps, app_us=cpu[0], db_us=cpu[1] if len(cpu) > 1 else 0.0))
        results = {b: {name: {k: median([r[k] for r in runs]) for k in ('rps', 'app_us', 'db_us')}
                       for name, runs in by.items()} for b, by in samples.items()}
        results['statements'] = statements
        print(f'{"page":<24}{"SQLite µs":>10}{"PG app µs":>11}{"PG db µs":>10}{"PG total":>10}{"ratio":>7}{"stmts":>7}')
        for name, _ in pages:
            sqr, pgr = results['sqlite'][name], results['postgres'][name]
            total = pgr['app_us'] + pgr['db_us']
            st = statements.get(name)
            stmts = f'{st[0]}' if st else 'n/a'
            ratios = sorted((p['app_us'] + p['db_us']) / s['app_us']
                            for s, p in zip(samples['sqlite'][name], samples['postgres'][name]))
            print(f'{name:<24}{sqr["app_us"]:>10.0f}{pgr["app_us"]:>11.0f}{pgr["db_us"]:>10.0f}{total:>10.0f}'
                  f'{total / sqr["app_us"]:>7.2f}{stmts:>7}   (rounds: {", ".join(f"{r:.2f}" for r in ratios)})')
        print('(µs of CPU per request, medians; statements PostgreSQL received for one request, the '
              'once-a-second content version included, the background workers\' polls not)')
        out['backends'] = results
    finally:
        for s in servers:
            s.stop()
        db.drop()


def nginx(work, nodes):
    d = os.path.join(work, f'nginx-{len(nodes)}')
    os.makedirs(d, exist_ok=True)
    port = free_port()
    servers = ''.join(f'    server 127.0.0.1:{n.port};\n' for n in nodes)
    user = 'user root;\n' if os.getuid() == 0 else ''
    with open(os.path.join(d, 'nginx.conf'), 'w') as f:
        f.write(f'''{user}daemon off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{ access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  upstream keepsake {{
{servers}    least_conn; keepalive 32;
  }}
  server {{ listen 127.0.0.1:{port};
    location / {{ proxy_pass http://keepsake; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; }}
  }}
}}
''')
    proc = subprocess.Popen(['nginx', '-p', d, '-c', os.path.join(d, 'nginx.conf')], stderr=subprocess.DEVNULL)
    wait_http(f'http://127.0.0.1:{port}/healthz')
    return proc, port


def bench_nodes(cms, work, seconds, connections, out):
    print('\n## 1, 2 and 3 nodes on one PostgreSQL database behind nginx (page cache on)', flush=True)
    db = PgDatabase()
    nodes = []
    try:
        first = Serve(cms, env_for(os.path.join(work, 'node0'), CMS_DATABASE_URL=db.url), demo=True)
        nodes.append(first)
        pages = [p for p in demo_pages(first.url('')) if p[0] in ('home', 'album', 'photo')]
        rows, steady = {}, {}
        for count in (1, 2, 3):
            while len(nodes) < count:
                nodes.append(Serve(cms, env_for(os.path.join(work, f'node{len(nodes)}'), CMS_DATABASE_URL=db.url)))
            proc, port = nginx(work, nodes)
            try:
                for name, path in pages:
                    groups = [[n.proc.pid for n in nodes], [proc.pid] + [int(p) for p in subprocess.run(
                        ['pgrep', '-P', str(proc.pid)], capture_output=True, text=True).stdout.split()]]
                    url = f'http://127.0.0.1:{port}{path}'
                    rps, cpu = measure(url, seconds, connections, groups, cpus=None)
                    rows.setdefault(name, {})[count] = dict(rps=rps, nodes_us=cpu[0], nginx_us=cpu[1])
                    # The same page at a steady load the cores take without queueing: what a
                    # node does per request, without the cost of more processes fighting for
                    # two cores.
                    rps, cpu = measure(url, seconds, connections, groups, cpus=None, pause_ms=STEADY_PAUSE_MS)
                    steady.setdefault(name, {})[count] = dict(rps=rps, nodes_us=cpu[0], nginx_us=cpu[1])
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        for title, table in (('as many requests as the machine takes', rows),
                             (f'a steady load ({connections} connections, each pausing '
                              f'{STEADY_PAUSE_MS} ms after an answer)', steady)):
            print(f'\n{title}:')
            print(f'{"page":<10}' + ''.join(f'{f"{c} node" + ("s" if c > 1 else ""):>24}' for c in (1, 2, 3)) + f'{"spread":>8}')
            print(f'{"":<10}' + ''.join(f'{"req/s":>9}{"µs/req":>8}{"nginx":>7}' for _ in (1, 2, 3)))
            for name, by in table.items():
                cpus = [by[c]['nodes_us'] for c in (1, 2, 3)]
                spread = max(cpus) / min(cpus) - 1
                print(f'{name:<10}' + ''.join(f'{by[c]["rps"]:>9.0f}{by[c]["nodes_us"]:>8.0f}{by[c]["nginx_us"]:>7.0f}'
                                              for c in (1, 2, 3)) + f'{spread * 100:>7.0f}%')
        print('(µs/req: CPU of all the nodes together per request; nginx: its own; everything shares '
              f'{os.cpu_count()} cores, wrk included)')
        out['nodes'] = rows
        out['nodes_steady'] = steady
    finally:
        for n in nodes:
            n.stop()
        db.drop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seconds', type=int, default=5)
    ap.add_argument('--connections', type=int, default=16)
    ap.add_argument('--photos', type=int, default=1000)
    ap.add_argument('--skip', default='')
    def at_least_one(v):
        if int(v) < 1:
            raise argparse.ArgumentTypeError('must be 1 or more')
        return int(v)
    ap.add_argument('--rounds', type=at_least_one, default=3, help='SQLite/PostgreSQL turns per page (medians)')
    ap.add_argument('--sslmode', help="libpq's sslmode for the PostgreSQL runs (default: Keepsake's on loopback, allow)")
    ap.add_argument('--json')
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(',')))
    for tool, pkg in (('wrk', 'wrk'), ('nginx', 'nginx'), ('taskset', 'util-linux')):
        if not shutil.which(tool) and not os.path.exists(f'/usr/sbin/{tool}'):
            subprocess.run(['bash', '-c', f'source scripts/services.sh && apt_install {pkg}'], cwd=ROOT)
    if 'import' not in skip:
        # make-captures.py's packages, as bench/ingest.py needs them.
        mods = {'scikit-image': 'skimage', 'pillow': 'PIL', 'numpy': 'numpy'}
        absent = [p for p, m in mods.items()
                  if subprocess.run([sys.executable, '-c', f'import {m}'], capture_output=True).returncode]
        if absent:
            subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', *absent], check=True)
    cms = benchlib.cms_binary()
    work = tempfile.mkdtemp(prefix='keepsake-scale-')
    out = {'cpus': os.cpu_count()}
    try:
        if 'import' not in skip:
            bench_import(cms, work, args.photos, out)
        if 'backends' not in skip:
            bench_backends(cms, work, args.seconds, args.connections, out, args.sslmode, args.rounds)
        if 'nodes' not in skip:
            bench_nodes(cms, work, args.seconds, args.connections, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=2)


if __name__ == '__main__':
    main()
