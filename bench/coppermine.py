#!/usr/bin/env python3
"""The Coppermine import at scale: `cms import coppermine` on a generated gallery, rows only.

Usage: bench/coppermine.py [--pictures 100000] [--per-album 50] [--backend sqlite|postgres]
                           [--keep DIR]

1. Builds the release `cms` (unless CMS_BIN names one).
2. Creates a Coppermine 1.6 database on the local MariaDB (tests/fixtures/coppermine/schema.sql;
   KEEPSAKE_TEST_MYSQL, default mysql://root@127.0.0.1:3306) with nested categories, albums of
   PER_ALBUM pictures and PICTURES pictures (titles, captions, keywords, hits, dates, 2 % of them
   unapproved), loaded with multi-row INSERTs.
3. Writes the albums folder: every picture's file is a hard link to one of PER_ALBUM small real
   JPEGs (like `cms generate` does), so an album holds distinct images, the import reads, hashes
   and inspects every file, and decodes only the first PER_ALBUM: this measures the database
   rows (ours and theirs) and the pipeline's bookkeeping, not image work (bench/ingest.py
   measures that against libvips).
4. Imports into an empty database, then again (every picture already there), and prints
   pictures/s and the peak RSS of the child (its maximum resident set, from wait4).

Needs: pip install pillow; MariaDB (scripts/services.sh ensure_mariadb). Loopback only.
"""
import argparse, io, os, random, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mysql_args():
    url = os.environ.get('KEEPSAKE_TEST_MYSQL', 'mysql://root@127.0.0.1:3306')
    rest = url.split('://', 1)[1]
    cred, host = rest.split('@', 1)
    user, _, password = cred.partition(':')
    host, _, port = host.partition(':')
    args = ['mariadb', '--default-character-set=utf8mb4', '--protocol=tcp', '-h', host, '-P', port or '3306', '-u', user]
    if password:
        args.append(f'-p{password}')
    return url, args


def sql_str(s):
    return "'" + s.replace('\\', '\\\\').replace("'", "''") + "'"


def generate_sql(out, pictures, per_album, seed):
    rnd = random.Random(seed)
    albums = (pictures + per_album - 1) // per_album
    out.write("INSERT INTO cpg_config (name, value) VALUES "
              "('ecards_more_pic_target','https://big.example/gallery/'),"
              "('thumbrows','4'),('thumbcols','5'),('default_sort_order','pa');\n")
    cats = [(1, 'User galleries', 0, 0)]
    for s in range(1, 9):
        cats.append((1 + s, f'Season {s} – stills & more', 0, s))
    for e in range(1, 41):
        cats.append((9 + e, f'Episode {e} / “captures”', 2 + e % 8, e))
    out.write('INSERT INTO cpg_categories (cid, name, description, parent, pos) VALUES ' +
              ','.join(f"({c},{sql_str(n)},'',{p},{pos})" for c, n, p, pos in cats) + ';\n')
    rows = []
    for a in range(1, albums + 1):
        rows.append(f"({a},{sql_str(f'Album {a} – Joe & Kit 💚')},'Description',0,{a},{10 + a % 40},0)")
    for i in range(0, len(rows), 1000):
        out.write('INSERT INTO cpg_albums (aid, title, description, visibility, pos, category, '
                  'thumb) VALUES ' + ','.join(rows[i:i + 1000]) + ';\n')
    batch = []
    for p in range(1, pictures + 1):
        a = (p - 1) // per_album + 1
        k = (p - 1) % per_album
        approved = 'NO' if rnd.random() < 0.02 else 'YES'
        batch.append(
            f"({p},{a},'big/{a % 100}/',{sql_str(f'pic-{p}.jpg')},{sql_str(f'Picture {p} – “red carpet”')},"
            f"{sql_str('[b]Caption[/b] & more')},'joe;kit;premiere',{rnd.randint(0, 5000)},"
            f"{1_300_000_000 + p * 60},'{approved}',{k})")
        if len(batch) == 2000:
            out.write('INSERT INTO cpg_pictures (pid, aid, filepath, filename, title, caption, '
                      'keywords, hits, ctime, approved, position) VALUES ' + ','.join(batch) + ';\n')
            batch = []
    if batch:
        out.write('INSERT INTO cpg_pictures (pid, aid, filepath, filename, title, caption, '
                  'keywords, hits, ctime, approved, position) VALUES ' + ','.join(batch) + ';\n')


def make_pool(dir, n):
    from PIL import Image
    paths = []
    for i in range(n):
        img = Image.new('RGB', (320, 240), ((i * 37) % 256, (i * 91) % 256, (i * 13) % 256))
        for x in range(0, 320, 8):
            img.putpixel((x, (x * i) % 240), (255 - i % 256, 0, i % 256))
        p = os.path.join(dir, f'pool-{i}.jpg')
        img.save(p, quality=85)
        paths.append(p)
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--pictures', type=int, default=100_000)
    ap.add_argument('--per-album', type=int, default=50)
    ap.add_argument('--backend', choices=['sqlite', 'postgres'], default='sqlite')
    ap.add_argument('--keep')
    args = ap.parse_args()
    cms = os.environ.get('CMS_BIN')
    if not cms:
        subprocess.run(['cargo', 'build', '--release', '--quiet', '--bin', 'cms'], cwd=ROOT, check=True)
        target = os.environ.get('CARGO_TARGET_DIR', os.path.join(ROOT, 'target'))
        cms = os.path.join(target, 'release', 'cms')
    work = args.keep or tempfile.mkdtemp(prefix='keepsake-cpg-')
    os.makedirs(work, exist_ok=True)
    url, mysql = mysql_args()
    db = f'keepsake_bench_cpg_{os.getpid()}'
    subprocess.run(mysql + ['-e', f'CREATE DATABASE {db} CHARACTER SET utf8mb4'], check=True)
    pg = os.environ.get('KEEPSAKE_TEST_PG', 'postgres://postgres@127.0.0.1:5432/postgres')
    pg_name = f'keepsake_bench_cpg_{os.getpid()}'
    try:
        with open(os.path.join(ROOT, 'tests/fixtures/coppermine/schema.sql')) as f:
            subprocess.run(mysql + [db], stdin=f, check=True)
        sql = io.StringIO()
        generate_sql(sql, args.pictures, args.per_album, 1)
        t0 = time.time()
        subprocess.run(mysql + [db], input=sql.getvalue().encode(), check=True)
        print(f'database: {args.pictures} pictures loaded in {time.time() - t0:.1f}s')
        albums_dir = os.path.join(work, 'albums')
        pool = make_pool(work, args.per_album)
        t0 = time.time()
        for p in range(1, args.pictures + 1):
            a = (p - 1) // args.per_album + 1
            d = os.path.join(albums_dir, 'big', str(a % 100))
            os.makedirs(d, exist_ok=True)
            dst = os.path.join(d, f'pic-{p}.jpg')
            if not os.path.exists(dst):
                os.link(pool[(p - 1) % args.per_album], dst)
        print(f'files: {args.pictures} hard links in {time.time() - t0:.1f}s')
        env = dict(os.environ, CMS_DATA_DIR=os.path.join(work, 'data'), CMS_LOG='warn',
                   CMS_SECRET_KEY='bench-secret-key-bench-secret-key-bench')
        if args.backend == 'sqlite':
            env['CMS_DATABASE_URL'] = 'sqlite://' + os.path.join(work, 'cms.db')
        else:
            subprocess.run(['psql', pg, '-qc', f'CREATE DATABASE {pg_name}'], check=True)
            env['CMS_DATABASE_URL'] = pg.rsplit('/', 1)[0] + '/' + pg_name
        for label in ('import', 'again'):
            cmd = ['/usr/bin/time', '-f', '%M %e', cms, 'import', 'coppermine', '--db',
                   f'{url}/{db}', '--albums', albums_dir]
            t0 = time.time()
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.time() - t0
            last = p.stderr.strip().splitlines()[-1].split()
            rss_kib = int(last[0])
            if p.returncode not in (0, 3):
                sys.exit(f'cms failed ({p.returncode}):\n{p.stderr}')
            print(f'{label}: {args.pictures} pictures in {wall:.1f}s = {args.pictures / wall:,.0f} '
                  f'pictures/s, peak RSS {rss_kib / 1024:.0f} MB')
            for line in p.stdout.splitlines():
                if line.startswith(('pictures', 'albums', 'categories', 'unapproved')):
                    print('  ' + line)
    finally:
        subprocess.run(mysql + ['-e', f'DROP DATABASE IF EXISTS {db}'])
        if args.backend == 'postgres':
            subprocess.run(['psql', pg, '-qc', f'DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)'])
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
