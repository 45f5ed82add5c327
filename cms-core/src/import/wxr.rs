//! A streaming reader of WordPress's export format (WXR 1.0–1.2, "Tools → Export"): one record
//! at a time from a pull parser, so a file of any size is read in the memory of its largest
//! item. Namespaced names are matched with WordPress's own prefixes (`wp:`, `content:`,
//! `excerpt:`, `dc:`), which every version writes.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::error::{Error, Result};

/// The site the file came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Channel {
    pub title: String,
    pub link: String,
    pub base_site_url: String,
    pub base_blog_url: String,
    pub wxr_version: String,
}

/// `wp:author`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Author {
    pub id: String,
    pub login: String,
    pub email: String,
    pub display_name: String,
    pub first_name: String,
    pub last_name: String,
}

/// `wp:category`, `wp:tag` or `wp:term`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Term {
    pub id: String,
    pub taxonomy: String,
    pub slug: String,
    pub parent: String,
    pub name: String,
    pub description: String,
}

/// A `<category>` element on an item: a category or tag it carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemTerm {
    pub domain: String,
    pub nicename: String,
    pub name: String,
}

/// An `<item>`: a post, page, attachment, revision, menu item, …
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub title: String,
    pub link: String,
    pub guid: String,
    pub creator: String,
    pub content: String,
    pub excerpt: String,
    pub date: String,
    pub date_gmt: String,
    pub slug: String,
    pub status: String,
    pub post_type: String,
    pub parent: i64,
    pub menu_order: i64,
    pub sticky: bool,
    pub password: String,
    pub attachment_url: String,
    pub terms: Vec<ItemTerm>,
    pub meta: Vec<(String, String)>,
    pub comments: u64,
}

impl Item {
    /// The value of a `wp:postmeta` key.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One thing the file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Channel(Channel),
    Author(Author),
    Category(Term),
    Tag(Term),
    Term(Term),
    Item(Box<Item>),
}

/// Where the reader is.
#[derive(Debug, PartialEq, Eq)]
enum In {
    Channel,
    Author,
    Category,
    Tag,
    Term,
    Item,
    Meta,
    Comment,
}

/// Reads records from a WXR file, one at a time.
pub struct WxrReader<R: BufRead> {
    reader: Reader<R>,
    buf: Vec<u8>,
    /// The element names from the root down.
    stack: Vec<String>,
    /// The nearest record-level context.
    ctx: Vec<In>,
    text: String,
    channel: Channel,
    channel_sent: bool,
    saw_rss: bool,
    author: Author,
    term: Term,
    item: Item,
    meta_key: String,
    meta_value: String,
    item_term: ItemTerm,
    pending: Option<Record>,
    /// Bytes consumed so far (progress).
    pub position: u64,
}

impl<R: BufRead> WxrReader<R> {
    pub fn new(input: R) -> Self {
        let mut reader = Reader::from_reader(input);
        let cfg = reader.config_mut();
        cfg.allow_dangling_amp = true;
        cfg.check_end_names = true;
        WxrReader {
            reader,
            buf: Vec::with_capacity(64 << 10),
            stack: Vec::new(),
            ctx: Vec::new(),
            text: String::new(),
            channel: Channel::default(),
            channel_sent: false,
            saw_rss: false,
            author: Author::default(),
            term: Term::default(),
            item: Item::default(),
            meta_key: String::new(),
            meta_value: String::new(),
            item_term: ItemTerm::default(),
            pending: None,
            position: 0,
        }
    }

    fn fail(&self, why: impl std::fmt::Display) -> Error {
        Error::invalid(
            "file",
            format!(
                "not a readable WordPress export (byte {}): {why}",
                self.reader.buffer_position()
            ),
        )
    }

    /// The next record, or `None` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<Record>> {
        if let Some(r) = self.pending.take() {
            return Ok(Some(r));
        }
        loop {
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(e) => e,
                Err(e) => return Err(self.fail(e)),
            };
            self.position = self.reader.buffer_position();
            match event {
                Event::Start(e) => {
                    let name = e.name().as_ref().to_string();
                    let attrs = attributes(&name, &e);
                    self.start(&name, attrs);
                    self.stack.push(name);
                    self.text.clear();
                }
                Event::Empty(e) => {
                    let name = e.name().as_ref().to_string();
                    let attrs = attributes(&name, &e);
                    self.start(&name, attrs);
                    self.text.clear();
                    if let Some(r) = self.end(&name) {
                        return Ok(Some(r));
                    }
                }
                Event::Text(t) => self.text.push_str(&t.xml10_content()),
                Event::CData(t) => self.text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        Ok(None) => match &*r {
                            "amp" => Some('&'),
                            "lt" => Some('<'),
                            "gt" => Some('>'),
                            "quot" => Some('"'),
                            "apos" => Some('\''),
                            _ => None,
                        },
                        Err(_) => None,
                    };
                    match resolved {
                        Some(c) => self.text.push(c),
                        None => {
                            self.text.push('&');
                            self.text.push_str(&r);
                            self.text.push(';');
                        }
                    }
                }
                Event::End(e) => {
                    let name = e.name().as_ref().to_string();
                    self.stack.pop();
                    if let Some(r) = self.end(&name) {
                        return Ok(Some(r));
                    }
                    self.text.clear();
                }
                Event::Eof => {
                    if !self.saw_rss {
                        return Err(self.fail("no <rss> element"));
                    }
                    if !self.stack.is_empty() {
                        return Err(self.fail("the file ends inside an element"));
                    }
                    if !self.channel_sent {
                        self.channel_sent = true;
                        return Ok(Some(Record::Channel(self.channel.clone())));
                    }
                    return Ok(None);
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }

    fn start(&mut self, name: &str, attrs: Vec<(String, String)>) {
        let attr = |key: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        match (self.ctx.last(), name) {
            (None, "rss") => self.saw_rss = true,
            (None, "channel") => self.ctx.push(In::Channel),
            (Some(In::Channel), "wp:author") => {
                self.author = Author::default();
                self.ctx.push(In::Author);
            }
            (Some(In::Channel), "wp:category") => {
                self.term = Term {
                    taxonomy: "category".into(),
                    ..Term::default()
                };
                self.ctx.push(In::Category);
            }
            (Some(In::Channel), "wp:tag") => {
                self.term = Term {
                    taxonomy: "post_tag".into(),
                    ..Term::default()
                };
                self.ctx.push(In::Tag);
            }
            (Some(In::Channel), "wp:term") => {
                self.term = Term::default();
                self.ctx.push(In::Term);
            }
            (Some(In::Channel), "item") => {
                self.item = Item::default();
                self.ctx.push(In::Item);
            }
            (Some(In::Item), "wp:postmeta") => {
                self.meta_key.clear();
                self.meta_value.clear();
                self.ctx.push(In::Meta);
            }
            (Some(In::Item), "wp:comment") => {
                self.item.comments += 1;
                self.ctx.push(In::Comment);
            }
            (Some(In::Item), "category") => {
                self.item_term = ItemTerm {
                    domain: attr("domain"),
                    nicename: attr("nicename"),
                    name: String::new(),
                };
            }
            _ => {}
        }
    }

    fn take(&mut self) -> String {
        std::mem::take(&mut self.text)
    }

    fn end(&mut self, name: &str) -> Option<Record> {
        match self.ctx.last() {
            Some(In::Channel) => {
                match name {
                    "channel" => {
                        self.ctx.pop();
                    }
                    // Only the channel's own children (not an image's title or link).
                    "title" if self.stack.len() == 2 => {
                        self.channel.title = self.take();
                    }
                    "link" if self.stack.len() == 2 => self.channel.link = self.take(),
                    "wp:base_site_url" => self.channel.base_site_url = self.take().trim().into(),
                    "wp:base_blog_url" => self.channel.base_blog_url = self.take().trim().into(),
                    "wp:wxr_version" => self.channel.wxr_version = self.take().trim().into(),
                    _ => {}
                }
                None
            }
            Some(In::Author) => {
                let a = &mut self.author;
                let v = std::mem::take(&mut self.text);
                match name {
                    "wp:author" => {
                        self.ctx.pop();
                        let author = std::mem::take(&mut self.author);
                        return Some(self.send_channel_first(Record::Author(author)));
                    }
                    "wp:author_id" => a.id = v.trim().into(),
                    "wp:author_login" => a.login = v.trim().into(),
                    "wp:author_email" => a.email = v.trim().into(),
                    "wp:author_display_name" => a.display_name = v.trim().into(),
                    "wp:author_first_name" => a.first_name = v.trim().into(),
                    "wp:author_last_name" => a.last_name = v.trim().into(),
                    _ => {}
                }
                None
            }
            Some(In::Category | In::Tag | In::Term) => {
                let t = &mut self.term;
                let v = std::mem::take(&mut self.text);
                match name {
                    "wp:category" | "wp:tag" | "wp:term" => {
                        let ctx = self.ctx.pop();
                        let term = std::mem::take(&mut self.term);
                        let r = match ctx {
                            Some(In::Category) => Record::Category(term),
                            Some(In::Tag) => Record::Tag(term),
                            _ => match term.taxonomy.as_str() {
                                "category" => Record::Category(term),
                                "post_tag" => Record::Tag(term),
                                _ => Record::Term(term),
                            },
                        };
                        return Some(self.send_channel_first(r));
                    }
                    "wp:term_id" => t.id = v.trim().into(),
                    "wp:term_taxonomy" => t.taxonomy = v.trim().into(),
                    "wp:category_nicename" | "wp:tag_slug" | "wp:term_slug" => {
                        t.slug = v.trim().into()
                    }
                    "wp:category_parent" | "wp:term_parent" => t.parent = v.trim().into(),
                    "wp:cat_name" | "wp:tag_name" | "wp:term_name" => t.name = v.trim().into(),
                    "wp:category_description" | "wp:tag_description" | "wp:term_description" => {
                        t.description = v.trim().into()
                    }
                    _ => {}
                }
                None
            }
            Some(In::Meta) => {
                match name {
                    "wp:postmeta" => {
                        self.ctx.pop();
                        let k = std::mem::take(&mut self.meta_key);
                        let v = std::mem::take(&mut self.meta_value);
                        self.item.meta.push((k, v));
                    }
                    "wp:meta_key" => self.meta_key = self.take().trim().into(),
                    "wp:meta_value" => self.meta_value = self.take(),
                    _ => {}
                }
                None
            }
            Some(In::Comment) => {
                if name == "wp:comment" {
                    self.ctx.pop();
                }
                None
            }
            Some(In::Item) => {
                let num = |v: &str| v.trim().parse::<i64>().unwrap_or(0);
                let v = std::mem::take(&mut self.text);
                let it = &mut self.item;
                match name {
                    "item" => {
                        self.ctx.pop();
                        let item = std::mem::take(&mut self.item);
                        return Some(self.send_channel_first(Record::Item(Box::new(item))));
                    }
                    "title" => it.title = v.trim().into(),
                    "link" => it.link = v.trim().into(),
                    "guid" => it.guid = v.trim().into(),
                    "dc:creator" => it.creator = v.trim().into(),
                    "content:encoded" => it.content = v,
                    "excerpt:encoded" => it.excerpt = v,
                    "wp:post_id" => it.id = num(&v),
                    "wp:post_date" => it.date = v.trim().into(),
                    "wp:post_date_gmt" => it.date_gmt = v.trim().into(),
                    "wp:post_name" => it.slug = v.trim().into(),
                    "wp:status" => it.status = v.trim().into(),
                    "wp:post_type" => it.post_type = v.trim().into(),
                    "wp:post_parent" => it.parent = num(&v),
                    "wp:menu_order" => it.menu_order = num(&v),
                    "wp:is_sticky" => it.sticky = v.trim() == "1",
                    "wp:post_password" => it.password = v,
                    "wp:attachment_url" => it.attachment_url = v.trim().into(),
                    "category" => {
                        let mut t = std::mem::take(&mut self.item_term);
                        t.name = v.trim().into();
                        it.terms.push(t);
                    }
                    _ => {}
                }
                None
            }
            None => None,
        }
    }

    /// The channel's details come first, before the first record that follows them.
    fn send_channel_first(&mut self, r: Record) -> Record {
        if self.channel_sent {
            return r;
        }
        self.channel_sent = true;
        self.pending = Some(r);
        Record::Channel(self.channel.clone())
    }
}

/// The attributes the reader uses (those of an item's `<category>`), owned.
fn attributes(name: &str, e: &BytesStart<'_>) -> Vec<(String, String)> {
    if name != "category" {
        return Vec::new();
    }
    e.attributes()
        .flatten()
        .filter_map(|a| {
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()?
                .into_owned();
            Some((a.key.as_ref().to_string(), v))
        })
        .collect()
}
