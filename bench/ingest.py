#!/usr/bin/env python3
"""Ingest benchmark: `cms import gallery` against libvips making the same two sizes.

Usage: bench/ingest.py [--count 400] [--keep DIR]

Makes COUNT realistic 1920x1080 HD captures with shared/tools/make-captures.py (spread over
the reference site's eight episode albums), then, in the same run:
  - imports them with the release `cms import gallery` into a fresh SQLite archive, with the
    derivative widths set to the pair libvips makes (CMS_IMAGE_WIDTHS=320,1280);
  - makes the same 1280 px and 320 px JPEGs (Q=82) with `vipsthumbnail` from Debian's
    libvips-tools, two processes so both use every core.
Prints images per CPU-second for both (CPU time of the child processes, user + system), the
ratio, wall time, peak RSS of the import, and the time 7,675 captures would take.
Needs: pip install scikit-image pillow numpy; apt-get install libvips-tools.
"""
import argparse, os, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAKE = os.path.join(os.path.dirname(ROOT), 'shared', 'tools', 'make-captures.py')


def run_measured(cmds, **kw):
    """Runs commands at once; returns (CPU seconds, wall seconds, peak RSS in KiB) of them
    and everything they started, from wait4 — not of anything else this script ran."""
    t0 = time.time()
    procs = [subprocess.Popen(c, **kw) for c in cmds]
    cpu, rss = 0.0, 0
    for p in procs:
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            sys.exit(f'{cmds[0][0]} failed with {p.returncode}')
        cpu += ru.ru_utime + ru.ru_stime
        rss = max(rss, ru.ru_maxrss)
    return cpu, time.time() - t0, rss


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--count', type=int, default=400)
    ap.add_argument('--keep', help='reuse/keep the captures in this folder')
    args = ap.parse_args()
    for tool in ('vipsthumbnail',):
        if not shutil.which(tool):
            sys.exit(f'{tool} is missing: apt-get install libvips-tools')
    make = os.environ.get('MAKE_CAPTURES', MAKE)
    if not os.path.exists(make):
        sys.exit(f'cannot find make-captures.py at {make} (set MAKE_CAPTURES)')
    target = os.environ.get('CARGO_TARGET_DIR', os.path.join(ROOT, 'target'))
    subprocess.run(['cargo', 'build', '--release', '--locked', '--quiet', '--bin', 'cms'], cwd=ROOT, check=True)
    cms = os.path.join(target, 'release', 'cms')
    work = tempfile.mkdtemp(prefix='keepsake-ingest-')
    try:
        caps = args.keep or os.path.join(work, 'captures')
        if not (args.keep and os.path.isdir(caps) and any(os.scandir(caps))):
            print(f'making {args.count} captures…', flush=True)
            subprocess.run([sys.executable, make, caps, str(args.count)], check=True, stdout=subprocess.DEVNULL)
        files = [os.path.join(d, f) for d, _, fs in os.walk(caps) for f in fs if f.endswith('.jpg')]
        n = len(files)
        megabytes = sum(os.path.getsize(f) for f in files) / 1e6

        env = {k: v for k, v in os.environ.items() if not k.startswith('CMS_')}
        env.update(CMS_DATA_DIR=os.path.join(work, 'data'), CMS_IMAGE_WIDTHS='320,1280', CMS_LOG='warn',
                   CMS_SECRET_KEY='benchmark-secret-key-benchmark-secret-key')
        subprocess.run([cms, 'migrate'], env=env, check=True, stdout=subprocess.DEVNULL)
        cms_cpu, cms_wall, cms_rss = run_measured([[cms, 'import', 'gallery', caps]], env=env, stdout=subprocess.DEVNULL)

        out = os.path.join(work, 'vips')
        os.makedirs(out)
        script = f'vipsthumbnail -s 1280 -o "{out}/%s-1280.jpg[Q=82,strip]" "$@" && vipsthumbnail -s 320 -o "{out}/%s-320.jpg[Q=82,strip]" "$@"'
        vips_cpu, vips_wall, _ = run_measured([['sh', '-c', script, 'vips'] + part for part in (files[0::2], files[1::2])])

        cms_rate, vips_rate = n / cms_cpu, n / vips_cpu
        print()
        print(f'{n} captures (1920x1080, {megabytes:.0f} MB), making 1280 px and 320 px JPEGs, {os.cpu_count()} CPUs')
        print(f'{"":<22}{"CPU s":>8}{"wall s":>8}{"images/CPU-s":>14}{"images/s":>10}')
        print(f'{"cms import gallery":<22}{cms_cpu:>8.2f}{cms_wall:>8.2f}{cms_rate:>14.1f}{n / cms_wall:>10.1f}')
        print(f'{"vipsthumbnail":<22}{vips_cpu:>8.2f}{vips_wall:>8.2f}{vips_rate:>14.1f}{n / vips_wall:>10.1f}')
        print(f'ratio (cms / libvips, images per CPU-second): {cms_rate / vips_rate:.2f}x   (goal ≥ 1.5x)')
        print(f'peak RSS of the import: {cms_rss / 1024:.0f} MB   (goal ≤ 300 MB)')
        print(f'7,675 captures at this rate: about {7675 / (n / cms_wall) / 60:.1f} minutes on this machine')
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
