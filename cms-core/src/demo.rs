//! Demo content: the reference site (`shared/fixtures/reference-site.json`) as a working
//! archive — the gallery path with its eight episode albums, the news posts and reposted
//! articles, the video vault entry with a transcript, and an admin account. Bodies are invented.
//! Photos are generated images, a fraction of the real counts by default; every album's count
//! is the true number of its photo rows.

use sha2::{Digest, Sha256};

use crate::db::{Db, DbConn};
use crate::error::{Error, Result};
use crate::media::{MediaStore, photo_original_key, photo_variant_key};
use crate::models::album::{AlbumStatus, NewAlbum};
use crate::models::audit::Actor;
use crate::models::photo;
use crate::models::post::{self, PostInput, PostKind, PostStatus};
use crate::models::user::{self, NewUser, Role};
use crate::models::video::{TranscriptFormat, VideoInput};
use crate::password;
use crate::service;

/// The eight episode albums of the reference site with their real capture counts.
pub const EPISODES: &[(&str, u32)] = &[
    ("S02E01 – Out", 1158),
    ("S02E02 – Family", 726),
    ("S02E03 – Promise", 773),
    ("S02E04 – Challenge", 899),
    ("S02E05 – Heat", 995),
    ("S02E06 – Truth / Dare", 1101),
    ("S02E07 – Sorry", 910),
    ("S02E08 – Perfect", 1113),
];

/// The gallery path the albums live under.
pub const GALLERY_PATH: &[&str] = &[
    "Television Productions",
    "Heartstopper",
    "Season 2",
    "Episode Captures",
];

/// Derivative widths of the generated photos.
const THUMB_W: u32 = 320;
const DISPLAY_W: u32 = 960;

/// How much demo content to make.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Each album gets its real count divided by this (at least one photo).
    pub photo_divisor: u32,
    /// Draw only this many images and give every photo hard links to one of them (each photo
    /// keeps its own content hash); `None` draws one image per photo.
    pub shared_images: Option<u32>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            photo_divisor: 50,
            shared_images: None,
        }
    }
}

/// What the demo loaded, and how to log in.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub admin_email: String,
    pub admin_password: String,
    pub posts: usize,
    pub albums: usize,
    pub photos: usize,
}

/// True when the database holds no users and no posts: the only case `--demo` loads into.
pub fn database_is_empty(conn: &mut DbConn) -> Result<bool> {
    Ok(user::count(conn)? == 0 && post::count(conn)? == 0)
}

/// Loads the demo site into an empty database. Returns `None` (and changes nothing) when the
/// database already has content. Images are written first, then all rows in one transaction.
pub fn load(db: &Db, media: &dyn MediaStore, opts: DemoOptions) -> Result<Option<DemoReport>> {
    if !database_is_empty(&mut *db.conn()?)? {
        return Ok(None);
    }
    let pool = match opts.shared_images {
        Some(n) => Some(ImagePool::new(media, n)?),
        None => None,
    };
    load_with(db, media, opts.photo_divisor, pool.as_ref())
}

/// [`load`] with photos made from `pool` when given.
pub(crate) fn load_with(
    db: &Db,
    media: &dyn MediaStore,
    divisor: u32,
    pool: Option<&ImagePool>,
) -> Result<Option<DemoReport>> {
    let divisor = divisor.max(1);
    // Images first (slow, outside the transaction); rows after, all at once.
    let mut album_photos = Vec::new();
    for (i, (title, real)) in EPISODES.iter().enumerate() {
        let n = (real / divisor).max(1);
        let mut photos = Vec::with_capacity(n as usize);
        for j in 0..n {
            let name = capture_name(title, j);
            photos.push(match pool {
                Some(pool) => pool.photo(media, &format!("demo:{i}:{j}"), u64::from(j), name)?,
                None => generate_photo(media, i as u32, j, name)?,
            });
        }
        album_photos.push(photos);
    }
    // The video's poster, drawn like the captures (a vault shows posters, not grey boxes).
    let poster = encode_jpeg(&draw(DISPLAY_W, DISPLAY_W * 9 / 16, 9, 0))?;
    let poster_key = format!("posters/demo/{}.jpg", hex::encode(Sha256::digest(&poster)));
    media.put(&poster_key, &poster)?;
    let admin_password = random_password();
    let hash = password::hash(&admin_password)?;
    let admin_email = "admin@example.com".to_string();
    let report = db.write_blocking(|conn| -> Result<Option<DemoReport>> {
        if !database_is_empty(conn)? {
            return Ok(None);
        }
        let admin = user::create(
            conn,
            &NewUser {
                email: &admin_email,
                name: "Archive Admin",
                role: Role::Admin,
                password_hash: &hash,
                must_change_password: false,
            },
        )?;
        let demo = Actor::system("demo");
        let parent = service::gallery::ensure_path(conn, &demo, GALLERY_PATH)?;
        let mut album_slugs = Vec::new();
        let mut photo_total = 0;
        let mut first_photo = None;
        // The header: a photo no post features, so the banner and the first card differ.
        let mut header_photo = None;
        // One photo from each album, for the posts' featured images.
        let mut album_firsts = Vec::new();
        for ((title, _), photos) in EPISODES.iter().zip(&album_photos) {
            let a = service::gallery::create_album(
                conn,
                &demo,
                &NewAlbum {
                    category_id: parent,
                    title,
                    description: "HD screen captures from the episode.",
                    credit: "Captures by the archive team",
                    status: AlbumStatus::Published,
                },
            )?;
            let added = service::gallery::add_photos(conn, &demo, a.id, photos)?;
            first_photo = first_photo.or(added.inserted.first().copied());
            header_photo = added.inserted.last().copied().or(header_photo);
            album_firsts.extend(added.inserted.get(added.inserted.len() / 2).copied());
            photo_total += added.inserted.len();
            album_slugs.push((a.slug, title.to_string(), added.inserted.len()));
        }
        load_video(conn, &poster_key)?;
        let posts = load_posts(conn, admin.id, &album_slugs, first_photo, &album_firsts)?;
        crate::branding::save(
            conn,
            &crate::branding::BrandingInput {
                title: "Kit Connor Archives".into(),
                tagline: "Your source for all things Kit Connor since 2019".into(),
                accent: String::new(),
                footer: "Kit Connor Archives is a non-profit fan site and is not affiliated with Kit Connor, his family or representatives.\nAll images are copyright their respective owners and are used under fair use.".into(),
                social: "https://www.instagram.com/kitconnorarchives\nhttps://x.com/kitconnorarchive\nhttps://kitconnorarchives.tumblr.com/".into(),
                header: match header_photo {
                    Some(id) => crate::branding::HeaderChoice::Photo(id),
                    None => crate::branding::HeaderChoice::Keep,
                },
                icon: None,
            },
        )?;
        Ok(Some(DemoReport {
            admin_email: admin_email.clone(),
            admin_password: admin_password.clone(),
            posts,
            albums: album_slugs.len(),
            photos: photo_total,
        }))
    })?;
    Ok(report)
}

fn random_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..16)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// Draws a "capture": a gradient in the album's hue with soft shapes placed by the photo's
/// number, so every image differs and compresses like a picture rather than a flat fill.
fn draw(width: u32, height: u32, album: u32, n: u32) -> image::RgbImage {
    let hue = (album as f32 * 45.0 + n as f32 * 3.0) % 360.0;
    let (r0, g0, b0) = hsv(hue, 0.55, 0.85);
    let (r1, g1, b1) = hsv((hue + 40.0) % 360.0, 0.7, 0.25);
    let mut seed = (album * 7919 + n * 104_729 + 17) as u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as f32) / (u32::MAX >> 1) as f32
    };
    let circles: Vec<(f32, f32, f32)> = (0..5)
        .map(|_| (next(), next(), 0.08 + next() * 0.2))
        .collect();
    image::RgbImage::from_fn(width, height, |x, y| {
        let fx = x as f32 / width as f32;
        let fy = y as f32 / height as f32;
        let t = (fx * 0.6 + fy * 0.4).clamp(0.0, 1.0);
        let mut c = [
            r0 * (1.0 - t) + r1 * t,
            g0 * (1.0 - t) + g1 * t,
            b0 * (1.0 - t) + b1 * t,
        ];
        for (cx, cy, r) in &circles {
            let dx = (fx - cx) * 16.0 / 9.0;
            let dy = fy - cy;
            let d = (dx * dx + dy * dy).sqrt();
            if d < *r {
                let k = (1.0 - d / r) * 0.35;
                c = [
                    c[0] + (255.0 - c[0]) * k,
                    c[1] + (255.0 - c[1]) * k,
                    c[2] + (255.0 - c[2]) * k,
                ];
            }
        }
        image::Rgb([c[0] as u8, c[1] as u8, c[2] as u8])
    })
}

fn hsv(h: f32, s: f32, v: f32) -> (f32, f32, f32) {
    let c = v * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let m = v - c;
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    ((r + m) * 255.0, (g + m) * 255.0, (b + m) * 255.0)
}

fn encode_jpeg(img: &image::RgbImage) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(img)
        .map_err(|e| Error::Internal(format!("cannot encode a demo image: {e}")))?;
    Ok(out)
}

/// `s02e01-0001.jpg` for the first capture of "S02E01 – Out".
fn capture_name(album_title: &str, n: u32) -> String {
    let episode = album_title
        .split(' ')
        .next()
        .unwrap_or("capture")
        .to_lowercase();
    format!("{episode}-{:04}.jpg", n + 1)
}

fn generate_photo(
    media: &dyn MediaStore,
    album: u32,
    n: u32,
    original_filename: String,
) -> Result<photo::NewPhoto> {
    let display = encode_jpeg(&draw(DISPLAY_W, DISPLAY_W * 9 / 16, album, n))?;
    let thumb = encode_jpeg(&draw(THUMB_W, THUMB_W * 9 / 16, album, n))?;
    let hash = hex::encode(Sha256::digest(&display));
    media.put(&photo_original_key(&hash, "image/jpeg"), &display)?;
    media.put(&photo_variant_key(&hash, DISPLAY_W), &display)?;
    media.put(&photo_variant_key(&hash, THUMB_W), &thumb)?;
    Ok(photo::NewPhoto {
        original_filename,
        caption: String::new(),
        credit: String::new(),
        source: "Netflix".into(),
        content_hash: hash,
        mime: "image/jpeg".into(),
        width: DISPLAY_W as i32,
        height: (DISPLAY_W * 9 / 16) as i32,
        bytes: display.len() as i64,
        variants: vec![THUMB_W, DISPLAY_W],
        ..Default::default()
    })
}

/// A few real images drawn once; each photo made from the pool gets its own content hash and
/// hard links to one of them, so a million photo rows cost a few megabytes of disk.
pub struct ImagePool {
    images: Vec<photo::NewPhoto>,
}

impl ImagePool {
    /// Draws `size` images (at least one) into the media store.
    pub fn new(media: &dyn MediaStore, size: u32) -> Result<Self> {
        let images = (0..size.max(1))
            .map(|i| generate_photo(media, i % 8, i, String::new()))
            .collect::<Result<_>>()?;
        Ok(ImagePool { images })
    }

    /// A photo named `original_filename` whose hash is derived from `seed` (unique per photo)
    /// and whose files are links to pool image `n` (modulo the pool's size).
    pub fn photo(
        &self,
        media: &dyn MediaStore,
        seed: &str,
        n: u64,
        original_filename: String,
    ) -> Result<photo::NewPhoto> {
        let image = &self.images[(n % self.images.len() as u64) as usize];
        let hash = hex::encode(Sha256::digest(seed.as_bytes()));
        media.link(
            &photo_original_key(&image.content_hash, &image.mime),
            &photo_original_key(&hash, &image.mime),
        )?;
        for w in &image.variants {
            media.link(
                &photo_variant_key(&image.content_hash, *w),
                &photo_variant_key(&hash, *w),
            )?;
        }
        Ok(photo::NewPhoto {
            original_filename,
            content_hash: hash,
            ..image.clone()
        })
    }
}

struct DemoPost {
    title: &'static str,
    kind: PostKind,
    category: &'static str,
    tags: &'static [&'static str],
    body: String,
    source: Option<(&'static str, &'static str, &'static str, &'static str)>,
    days_ago: i64,
}

fn load_posts(
    conn: &mut DbConn,
    author: i64,
    albums: &[(String, String, usize)],
    featured: Option<i64>,
    others: &[i64],
) -> Result<usize> {
    let album_embeds: String = albums
        .iter()
        .map(|(slug, _, _)| format!("[[album:{slug}]]\n\n"))
        .collect();
    let posts = vec![
        DemoPost {
            title: "Heartstopper Season 2 Captures",
            kind: PostKind::News,
            category: "Gallery Updates",
            tags: &["Heartstopper", "Captures"],
            body: format!(
                "All eight episodes of the second season are now in the gallery in HD, added in one go. \
                 Head to **Television Productions > Heartstopper > Season 2 > Episode Captures** or \
                 jump straight to an episode:\n\n{album_embeds}Please credit the archive if you repost them."
            ),
            source: None,
            days_ago: 1,
        },
        DemoPost {
            title: "Kit Connor Opens Up About Coming Out & Heartstopper Season 2",
            kind: PostKind::Article,
            category: "Interviews",
            tags: &["Heartstopper", "Interview"],
            body: "In a long conversation ahead of the new season, Kit talks about the pressure of the past \
                   year, the support of the cast, and why the story of Nick and Charlie still matters to him.\n\n\
                   *This is a summary written for the archive; read the full piece at the source.*"
                .into(),
            source: Some(("Rolling Stone UK", "Chris Godfrey", "https://www.rollingstone.co.uk/", "2023-07-28")),
            days_ago: 3,
        },
        DemoPost {
            title: "Kit Connor & Joe Locke Explain What Made Heartstopper's Milkshakes Disgusting",
            kind: PostKind::Article,
            category: "Interviews",
            tags: &["Heartstopper", "Joe Locke", "Interview"],
            body: "The two leads laugh through a behind-the-scenes story about a café scene that needed far \
                   more takes — and far more milkshake — than anyone planned."
                .into(),
            source: Some(("Entertainment Weekly", "", "https://ew.com/", "2023-08-04")),
            days_ago: 5,
        },
        DemoPost {
            title: "Netflix Unveils 'Heartstopper' Season Two Premiere Date",
            kind: PostKind::News,
            category: "Projects",
            tags: &["Heartstopper", "Netflix"],
            body: "It's official: season two premieres on **3 August 2023**, with all eight episodes at once. \
                   We'll have captures in the gallery as soon as we can."
                .into(),
            source: None,
            days_ago: 30,
        },
        DemoPost {
            title: "How Does Kit Connor Make Easy Classics Look this Good?",
            kind: PostKind::Article,
            category: "Fashion",
            tags: &["Fashion"],
            body: "A look at the relaxed tailoring and simple knits Kit has been wearing on the press tour, \
                   and why they work so well."
                .into(),
            source: Some(("GQ", "", "https://www.gq-magazine.co.uk/", "2023-04-21")),
            days_ago: 40,
        },
        DemoPost {
            title: "Kit Attends Tag Heuer 60th Anniversary Party",
            kind: PostKind::News,
            category: "Events",
            tags: &["Events"],
            body: "Kit joined the celebrations for the watchmaker's anniversary last night. Photos from the \
                   event will be added to the gallery soon."
                .into(),
            source: None,
            days_ago: 45,
        },
        DemoPost {
            title: "New Videos Added to Video Vault",
            kind: PostKind::News,
            category: "Video Vault",
            tags: &["Video Vault"],
            body: "We've added new interviews to the [video vault](/videos), including an episode of \
                   *GQ Action Replay* with a full transcript."
                .into(),
            source: None,
            days_ago: 50,
        },
        DemoPost {
            title: "Kit Cast as Lead in Horror Film 'One of Us'",
            kind: PostKind::News,
            category: "Projects",
            tags: &["Projects", "Film"],
            body: "Kit has been cast in the lead role of the horror film *One of Us*. Production details \
                   have not been announced yet; we'll update this post as news comes in."
                .into(),
            source: None,
            days_ago: 60,
        },
        DemoPost {
            title: "Kit Receives Royal Television Society Programme Awards Nomination",
            kind: PostKind::News,
            category: "Awards",
            tags: &["Awards", "Heartstopper"],
            body: "Congratulations to Kit on his nomination at the Royal Television Society Programme Awards \
                   for his performance as Nick Nelson!"
                .into(),
            source: None,
            days_ago: 70,
        },
        DemoPost {
            title: "British GQ Speaks With Kit Connor & Joe Locke",
            kind: PostKind::News,
            category: "Interviews",
            tags: &["Interview", "Joe Locke", "Video Vault"],
            body: "British GQ sat down with Kit and Joe to react to scenes from season one. The video is in \
                   the video vault with a transcript:\n\n[[video:kit-connor-joe-locke-react-to-heartstopper-scenes]]\n"
                .into(),
            source: None,
            days_ago: 80,
        },
        DemoPost {
            title: "They Put the Heart in 'Heartstopper'",
            kind: PostKind::Article,
            category: "Interviews",
            tags: &["Heartstopper", "Press"],
            body: "A profile of the cast and crew and how the series found its warm, hopeful tone. \
                   *Summary by the archive; the original article is linked below.*"
                .into(),
            source: Some(("The New York Times", "Erik Piepenburg", "https://www.nytimes.com/", "2023-08-03")),
            days_ago: 90,
        },
        DemoPost {
            title: "Heartstopper: Here's Everything We Know So Far About Season 2",
            kind: PostKind::Article,
            category: "Projects",
            tags: &["Heartstopper"],
            body: "Release date, returning cast, new faces and where the story goes next — a round-up \
                   from before the premiere."
                .into(),
            source: Some(("", "", "", "2023-07-09")),
            days_ago: 100,
        },
        DemoPost {
            title: "'Heartstopper' Season 2: Here's Everything You Need to Know",
            kind: PostKind::Article,
            category: "Projects",
            tags: &["Heartstopper", "Netflix"],
            body: "Netflix's own guide to the new season: the episodes, the Paris trip, and the prom.".into(),
            source: Some(("Netflix Tudum", "", "https://www.netflix.com/tudum", "2023-08-07")),
            days_ago: 110,
        },
    ];
    let now = crate::models::now();
    let n = posts.len();
    let demo = Actor::system("demo");
    for (i, p) in posts.into_iter().enumerate() {
        let cat = service::taxonomy::ensure_category(conn, &demo, p.category)?;
        let mut input = PostInput::new(p.title, p.body);
        input.kind = p.kind;
        input.status = PostStatus::Published;
        input.author_id = Some(author);
        input.publish_at = Some(now - chrono::Duration::days(p.days_ago));
        input.category_ids = vec![cat.id];
        input.tags = p.tags.iter().map(|t| t.to_string()).collect();
        // The announcement shows the season's first capture; the others one from each album
        // in turn, as a fan site's posts each carry a picture.
        input.featured_photo_id = if p.title == "Heartstopper Season 2 Captures" {
            featured
        } else {
            (!others.is_empty()).then(|| others[(i + others.len() - 1) % others.len()])
        };
        if let Some((publication, author_name, url, date)) = p.source {
            let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
            input.source_publication = opt(publication);
            input.source_author = opt(author_name);
            input.source_url = opt(url);
            input.source_date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok();
        }
        service::posts::create(conn, &demo, &input)?;
    }
    // One draft, to show (and test) that readers never see drafts.
    let mut draft = PostInput::new(
        "Draft: Season 3 Filming Diary",
        "Notes for a future post. Not for readers yet.",
    );
    draft.author_id = Some(author);
    service::posts::create(conn, &demo, &draft)?;
    Ok(n)
}

const DEMO_TRANSCRIPT: &str = "WEBVTT

00:00:00.000 --> 00:00:04.000
[Upbeat music]

00:00:04.000 --> 00:00:09.500
KIT: Hi, I'm Kit Connor.
JOE: And I'm Joe Locke, and this is Action Replay.

00:00:09.500 --> 00:00:16.000
KIT: Okay, first up is the rain scene. I remember it being absolutely freezing.

00:00:16.000 --> 00:00:23.000
JOE: They had the rain machines going all night. We were soaked between every take.

00:00:23.000 --> 00:00:31.000
KIT: And this next one is the scene with Olivia Colman. Honestly, I was so nervous.

00:00:31.000 --> 00:00:38.000
JOE: She was so kind to everyone on set. It's one of my favourite moments of the show.
";

fn load_video(conn: &mut DbConn, poster_key: &str) -> Result<()> {
    service::videos::create(
        conn,
        &Actor::system("demo"),
        &VideoInput {
            title: "Kit Connor & Joe Locke React To Heartstopper Scenes".into(),
            description: "The pair break down scenes from season one, from the rainy kiss to the \
                          coming-out scene with Olivia Colman."
                .into(),
            series: "GQ Action Replay".into(),
            source: "British GQ".into(),
            release_date: chrono::NaiveDate::from_ymd_opt(2023, 2, 13),
            credits: "Starring: Kit Connor, Joe Locke".into(),
            duration_seconds: Some(38),
            embed_url: Some("https://www.youtube.com/watch?v=aaaaaaaaaaa".into()),
            transcript: DEMO_TRANSCRIPT.into(),
            transcript_format: Some(TranscriptFormat::Vtt),
            poster_key: Some(poster_key.to_string()),
            published: true,
            ..VideoInput::default()
        },
    )?;
    Ok(())
}
