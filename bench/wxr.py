#!/usr/bin/env python3
"""The WordPress import at scale: `cms import wordpress` on a generated export.

Usage: bench/wxr.py [--posts 100000] [--attachments 20000] [--backend sqlite|postgres]
                    [--keep DIR]

1. Builds the release `cms` (unless CMS_BIN names one).
2. Writes a WXR 1.2 file like a fan site's: the given number of posts (news and interviews,
   classic-editor paragraphs with links between posts, captions, a gallery and a video in some,
   block-editor markup in others, categories in a tree, tags, excerpts, several authors, every
   status) and attachments (metadata only: the import runs without --media-from, so this
   measures everything but image work, which bench/ingest.py measures against libvips).
3. Reference in the same run: Python's streaming XML reader (ElementTree.iterparse, clearing
   each item as it goes) reading the same file and touching every post's fields: the floor of
   "read the export once", which the import does twice plus everything else.
4. Imports into an empty database, then imports again (a no-op: every item is there), and
   prints posts/s, peak RSS (the child's maximum resident set) and the ratios.

Loopback only (PostgreSQL on 127.0.0.1 with --backend postgres); bounded by the file's size.
"""
import argparse, os, random, shutil, subprocess, sys, tempfile, time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NS = {
    'wp': 'http://wordpress.org/export/1.2/',
    'content': 'http://purl.org/rss/1.0/modules/content/',
    'excerpt': 'http://wordpress.org/export/1.2/excerpt/',
    'dc': 'http://purl.org/dc/elements/1.1/',
}


def cdata(s):
    return '<![CDATA[' + s.replace(']]>', ']]]]><![CDATA[>') + ']]>'


def write_wxr(path, posts, attachments, seed=1):
    rnd = random.Random(seed)
    host = 'https://fans.example'
    cats = [('news', '', 'News'), ('television', '', 'Television'),
            ('heartstopper', 'television', 'Heartstopper'), ('films', '', 'Films'),
            ('interviews', '', 'Interviews'), ('events', '', 'Events & Premieres'),
            ('photoshoots', '', 'Photoshoots 📸'), ('stage', '', 'Stage – Broadway')]
    tags = ['season-2', 'season-3', 'netflix', 'kit-connor', 'premiere', 'red-carpet',
            'magazine', 'behind-the-scenes', 'award', 'première']
    authors = ['archivist', 'rosie', 'tomas', 'sam']
    statuses = ['publish'] * 90 + ['draft'] * 4 + ['pending'] * 2 + ['private'] * 1 + \
        ['trash'] * 2 + ['future'] * 1
    with open(path, 'w', encoding='utf-8') as f:
        w = f.write
        w('<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0" '
          'xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
          'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
          'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
          'xmlns:dc="http://purl.org/dc/elements/1.1/" '
          'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n')
        w(f'<title>Fan archive</title>\n<link>{host}</link>\n<wp:wxr_version>1.2</wp:wxr_version>\n')
        w(f'<wp:base_site_url>{host}</wp:base_site_url>\n<wp:base_blog_url>{host}</wp:base_blog_url>\n')
        for i, a in enumerate(authors):
            w(f'<wp:author><wp:author_id>{i + 1}</wp:author_id><wp:author_login>{cdata(a)}</wp:author_login>'
              f'<wp:author_email>{cdata(a + "@fans.example")}</wp:author_email>'
              f'<wp:author_display_name>{cdata(a.title())}</wp:author_display_name></wp:author>\n')
        for i, (slug, parent, name) in enumerate(cats):
            w(f'<wp:category><wp:term_id>{i + 2}</wp:term_id><wp:category_nicename>{cdata(slug)}</wp:category_nicename>'
              f'<wp:category_parent>{cdata(parent)}</wp:category_parent><wp:cat_name>{cdata(name)}</wp:cat_name>'
              f'<wp:category_description>{cdata("All about " + name)}</wp:category_description></wp:category>\n')
        for i, t in enumerate(tags):
            w(f'<wp:tag><wp:term_id>{i + 20}</wp:term_id><wp:tag_slug>{cdata(t)}</wp:tag_slug>'
              f'<wp:tag_name>{cdata(t.replace("-", " ").title())}</wp:tag_name></wp:tag>\n')
        next_id = 1000
        att_ids = []
        for i in range(attachments):
            next_id += 1
            y, m = 2015 + i % 10, 1 + (i // 10) % 12
            name = f'capture-{i:06d}.jpg'
            url = f'{host}/wp-content/uploads/{y}/{m:02d}/{name}'
            att_ids.append(next_id)
            w(f'<item><title>{cdata("Capture " + str(i))}</title><link>{host}/?attachment_id={next_id}</link>'
              f'<dc:creator>{cdata("archivist")}</dc:creator><guid isPermaLink="false">{url}</guid>'
              f'<content:encoded>{cdata("")}</content:encoded><excerpt:encoded>{cdata("Caption " + str(i))}</excerpt:encoded>'
              f'<wp:post_id>{next_id}</wp:post_id><wp:post_date>{cdata(f"{y}-{m:02d}-01 10:00:00")}</wp:post_date>'
              f'<wp:post_date_gmt>{cdata(f"{y}-{m:02d}-01 10:00:00")}</wp:post_date_gmt>'
              f'<wp:post_name>{cdata(name[:-4])}</wp:post_name><wp:status>{cdata("inherit")}</wp:status>'
              f'<wp:post_parent>0</wp:post_parent><wp:post_type>{cdata("attachment")}</wp:post_type>'
              f'<wp:attachment_url>{cdata(url)}</wp:attachment_url>'
              f'<wp:postmeta><wp:meta_key>{cdata("_wp_attached_file")}</wp:meta_key>'
              f'<wp:meta_value>{cdata(f"{y}/{m:02d}/{name}")}</wp:meta_value></wp:postmeta>'
              f'<wp:postmeta><wp:meta_key>{cdata("_wp_attachment_image_alt")}</wp:meta_key>'
              f'<wp:meta_value>{cdata("Joe in capture " + str(i))}</wp:meta_value></wp:postmeta></item>\n')
        for i in range(posts):
            next_id += 1
            y, m, d = 2014 + i * 12 // max(posts, 1), 1 + i % 12, 1 + i % 28
            status = statuses[i % len(statuses)]
            if status == 'future':
                y = 2031
            slug = f'update-{i}'
            title = f'Update {i} – “Heartstopper” & more' if i % 3 else f'Interview {i}: Joe / Kit on season {i % 4 + 1}'
            paras = [f'Paragraph one of post {i}, with <strong>news</strong> & a <a href="{host}/{y}/{m:02d}/update-{max(i - 1, 0)}/">link</a>.',
                     'A second paragraph.\nWith a line break in it, and *asterisks* kept.']
            if att_ids and i % 5 == 0:
                a = att_ids[i % len(att_ids)]
                paras.append(f'[caption id="attachment_{a}" width="640"]<img src="{host}/wp-content/uploads/x-640x427.jpg" '
                             f'class="wp-image-{a}" alt="x" width="640" height="427" /> A caption – here[/caption]')
            if att_ids and i % 17 == 0:
                ids = ','.join(str(att_ids[(i + k) % len(att_ids)]) for k in range(4))
                paras.append(f'[gallery ids="{ids}"]')
            if i % 23 == 0:
                paras.append(f'https://www.youtube.com/watch?v=vid{i % 500:08d}')
            body = '\n\n'.join(paras)
            if i % 4 == 0:
                body = ('<!-- wp:paragraph -->\n<p>' + paras[0] + '</p>\n<!-- /wp:paragraph -->\n\n'
                        '<!-- wp:list -->\n<ul><li>One</li><li>Two</li></ul>\n<!-- /wp:list -->')
            terms = [rnd.choice(cats)] + ([rnd.choice(cats)] if i % 2 else [])
            item_tags = rnd.sample(tags, 3)
            w(f'<item><title>{cdata(title)}</title><link>{host}/{y}/{m:02d}/{slug}/</link>'
              f'<dc:creator>{cdata(authors[i % len(authors)])}</dc:creator><guid isPermaLink="false">{host}/?p={next_id}</guid>'
              f'<description></description><content:encoded>{cdata(body)}</content:encoded>'
              f'<excerpt:encoded>{cdata("A short excerpt of post " + str(i) if i % 2 else "")}</excerpt:encoded>'
              f'<wp:post_id>{next_id}</wp:post_id><wp:post_date>{cdata(f"{y}-{m:02d}-{d:02d} 12:00:00")}</wp:post_date>'
              f'<wp:post_date_gmt>{cdata(f"{y}-{m:02d}-{d:02d} 11:00:00")}</wp:post_date_gmt>'
              f'<wp:comment_status>{cdata("open")}</wp:comment_status><wp:post_name>{cdata(slug)}</wp:post_name>'
              f'<wp:status>{cdata(status)}</wp:status><wp:post_parent>0</wp:post_parent><wp:menu_order>0</wp:menu_order>'
              f'<wp:post_type>{cdata("page" if i % 50 == 0 else "post")}</wp:post_type><wp:post_password>{cdata("")}</wp:post_password>'
              f'<wp:is_sticky>0</wp:is_sticky>')
            for slug_, _, name in terms:
                w(f'<category domain="category" nicename="{slug_}">{cdata(name)}</category>')
            for t in item_tags:
                w(f'<category domain="post_tag" nicename="{t}">{cdata(t)}</category>')
            if att_ids and i % 3 == 0:
                w(f'<wp:postmeta><wp:meta_key>{cdata("_thumbnail_id")}</wp:meta_key>'
                  f'<wp:meta_value>{cdata(str(att_ids[i % len(att_ids)]))}</wp:meta_value></wp:postmeta>')
            if i % 10 == 0:
                w(f'<wp:comment><wp:comment_id>{i}</wp:comment_id><wp:comment_content>{cdata("Great!")}</wp:comment_content>'
                  f'<wp:comment_approved>{cdata("1")}</wp:comment_approved></wp:comment>')
            w('</item>\n')
        w('</channel>\n</rss>\n')


def python_stream_read(path):
    """The reference: stream the file once, touching each item's fields."""
    started = time.perf_counter()
    items = 0
    chars = 0
    for _, el in ET.iterparse(path, events=('end',)):
        if el.tag == 'item':
            items += 1
            for child in el:
                chars += len(child.text or '')
            el.clear()
    return time.perf_counter() - started, items


def run(cmd, env):
    """Runs a command; returns its time, its peak RSS in KiB (VmHWM, read while it runs) and
    its output."""
    started = time.perf_counter()
    out_f = tempfile.TemporaryFile(mode='w+')
    err_f = tempfile.TemporaryFile(mode='w+')
    p = subprocess.Popen(cmd, env=env, stdout=out_f, stderr=err_f, text=True)
    peak = 0
    while p.poll() is None:
        try:
            with open(f'/proc/{p.pid}/status') as f:
                for line in f:
                    if line.startswith('VmHWM:'):
                        peak = max(peak, int(line.split()[1]))
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.02)
    secs = time.perf_counter() - started
    out_f.seek(0)
    err_f.seek(0)
    if p.returncode not in (0, 3):
        sys.exit(f'{" ".join(cmd)} failed ({p.returncode}):\n{err_f.read()}')
    return secs, peak, out_f.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--posts', type=int, default=100_000)
    ap.add_argument('--attachments', type=int, default=20_000)
    ap.add_argument('--backend', choices=['sqlite', 'postgres'], default='sqlite')
    ap.add_argument('--keep', help='keep the work folder here')
    args = ap.parse_args()
    cms = os.environ.get('CMS_BIN')
    if not cms:
        subprocess.run(['cargo', 'build', '--release', '--quiet', '--bin', 'cms'], cwd=ROOT, check=True)
        target = os.environ.get('CARGO_TARGET_DIR', os.path.join(ROOT, 'target'))
        cms = os.path.join(target, 'release', 'cms')
    work = args.keep or tempfile.mkdtemp(prefix='keepsake-wxr-')
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, 'export.xml')
    t = time.perf_counter()
    write_wxr(path, args.posts, args.attachments)
    size = os.path.getsize(path)
    print(f'export: {args.posts:,} posts, {args.attachments:,} attachments, {size / 1e6:.0f} MB '
          f'(written in {time.perf_counter() - t:.1f} s)')
    ref_secs, items = python_stream_read(path)
    print(f'reference: Python iterparse streamed {items:,} items in {ref_secs:.2f} s')
    env = {k: v for k, v in os.environ.items() if not k.startswith('CMS_')}
    env.update({'CMS_DATA_DIR': os.path.join(work, 'data'), 'CMS_LOG': 'warn',
                'CMS_SECRET_KEY': 'bench-secret-key-bench-secret-key-bench'})
    pg_db = None
    if args.backend == 'postgres':
        pg_db = f'keepsake_wxr_{os.getpid()}'
        admin = os.environ.get('KEEPSAKE_TEST_PG', 'postgres://postgres@127.0.0.1:5432/postgres')
        subprocess.run(['psql', admin, '-qc', f'CREATE DATABASE {pg_db}'], check=True)
        env['CMS_DATABASE_URL'] = admin.rsplit('/', 1)[0] + '/' + pg_db
    try:
        secs, peak, out = run([cms, 'import', 'wordpress', path], env)
        posts_line = next((l for l in out.splitlines() if l.startswith('posts:')), '')
        imported = int(posts_line.split()[1]) if posts_line else 0
        pages_line = next((l for l in out.splitlines() if l.startswith('pages:')), '')
        imported += int(pages_line.split()[1]) if pages_line else 0
        print(f'import ({args.backend}): {imported:,} posts and pages in {secs:.1f} s = '
              f'{imported / secs:,.0f} posts/s; peak RSS {peak / 1024:.0f} MiB')
        print(f'  ratio to the reference read: {secs / ref_secs:.1f}x its time')
        again, peak2, _ = run([cms, 'import', 'wordpress', path], env)
        print(f'second run (nothing to do): {again:.1f} s, peak RSS {peak2 / 1024:.0f} MiB')
        for line in [l for l in out.splitlines() if not l.startswith('post ')][:20]:
            print('  ' + line)
    finally:
        if pg_db:
            subprocess.run(['psql', admin, '-qc', f'DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)'])
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
