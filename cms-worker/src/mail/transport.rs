//! Getting messages out: SMTP through lettre, or `.eml` files when no SMTP server is configured.
//!
//! lettre's own transport writes a message's body and its closing dot separately on a socket
//! with Nagle's algorithm on, so each message waits for the peer's delayed ACK (~40 ms): one
//! connection manages ~22 messages a second. We open the TCP connection ourselves with
//! `TCP_NODELAY` and hand it to lettre (`connect_with_transport`), which keeps lettre's SMTP
//! implementation (EHLO, STARTTLS, AUTH, DATA) and removes the stall. Implicit TLS (`smtps://`)
//! goes through lettre's pooled transport unchanged.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncTransport, Tokio1Executor};

/// Why a message did not go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later: the server said 4xx, or could not be reached.
    Transient(String),
    /// Do not try again: the server said 5xx.
    Permanent(String),
}

impl SendError {
    fn from_smtp(e: &lettre::transport::smtp::Error) -> SendError {
        let text = e.to_string().replace(['\r', '\n'], " ");
        if e.is_permanent() {
            SendError::Permanent(text)
        } else {
            SendError::Transient(text)
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain SMTP (loopback relays, local sinks).
    None,
    /// STARTTLS if the server offers it.
    Opportunistic,
    /// STARTTLS or fail.
    Required,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// Where and how to deliver.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub credentials: Option<(String, String)>,
    pub hello: String,
    /// How long one exchange with the server (the greeting and handshake, or one message)
    /// may take before the connection is given up and the message retried later: a server
    /// that accepts and then stalls must not hold a sender for ever.
    pub timeout: Duration,
}

/// [`SmtpSettings::timeout`] unless told otherwise: lettre's own default for its transports.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(60);

impl SmtpSettings {
    /// Parses `smtp://[user:pass@]host[:port][?tls=none|opportunistic|required]` or `smtps://…`.
    pub fn parse(raw: &str, hello: &str) -> Result<SmtpSettings, String> {
        let u = url::Url::parse(raw).map_err(|e| format!("CMS_SMTP_URL: {e}"))?;
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("CMS_SMTP_URL has no host")?
            .to_string();
        let implicit = u.scheme() == "smtps";
        let tls_param = u
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let tls = match (implicit, tls_param.as_deref()) {
            (true, _) => Tls::Implicit,
            (false, None | Some("opportunistic")) => Tls::Opportunistic,
            (false, Some("none")) => Tls::None,
            (false, Some("required")) => Tls::Required,
            (false, Some(other)) => {
                return Err(format!(
                    "CMS_SMTP_URL: tls={other} is not none, opportunistic or required"
                ));
            }
        };
        let port = u.port().unwrap_or(if implicit { 465 } else { 25 });
        let credentials = (!u.username().is_empty()).then(|| {
            // Userinfo is percent-encoded (not form-encoded: a `+` in a password stays a `+`).
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(u.username()), decode(u.password().unwrap_or("")))
        });
        Ok(SmtpSettings {
            host,
            port,
            tls,
            credentials,
            hello: hello.to_string(),
            timeout: SMTP_TIMEOUT,
        })
    }
}

/// A way out for messages.
#[derive(Clone)]
pub enum Transport {
    Smtp(SmtpSettings),
    /// Implicit TLS through lettre's own pooled transport.
    SmtpsPool(lettre::AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Smtp(s) => write!(f, "smtp://{}:{}", s.host, s.port),
            Transport::SmtpsPool(_) => f.write_str("smtps pool"),
            Transport::Files(p) => write!(f, "files in {}", p.display()),
        }
    }
}

impl Transport {
    /// The transport for a configuration: SMTP if a URL is set, else `.eml` files in
    /// `data/outbox`.
    pub fn from_config(config: &cms_core::Config) -> Result<Transport, String> {
        let hello = super::compose::host_of(&config.server.base_url);
        match &config.mail.smtp_url {
            None => Ok(Transport::Files(config.storage.data_dir.join("outbox"))),
            Some(url) => {
                let s = SmtpSettings::parse(url, &hello)?;
                if s.tls == Tls::Implicit {
                    let mut b = lettre::AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                        .map_err(|e| format!("CMS_SMTP_URL: {e}"))?
                        .port(s.port)
                        .timeout(Some(s.timeout))
                        .pool_config(
                            lettre::transport::smtp::PoolConfig::new()
                                .max_size(config.mail.connections as u32),
                        );
                    if let Some((u, p)) = &s.credentials {
                        b = b.credentials(Credentials::new(u.clone(), p.clone()));
                    }
                    Ok(Transport::SmtpsPool(b.build()))
                } else {
                    Ok(Transport::Smtp(s))
                }
            }
        }
    }
}

/// One open connection (or none yet) of one sender.
pub struct Slot {
    conn: Option<AsyncSmtpConnection>,
}

impl Slot {
    pub fn new() -> Self {
        Slot { conn: None }
    }
}

impl Default for Slot {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs one exchange with the server, giving up after `limit`.
async fn within<T>(
    limit: Duration,
    what: &str,
    exchange: impl std::future::Future<Output = Result<T, SendError>>,
) -> Result<T, SendError> {
    tokio::time::timeout(limit, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(SendError::Transient(format!(
                "{what}: no answer from the SMTP server in {} s",
                limit.as_secs_f32()
            )))
        })
}

async fn connect(s: &SmtpSettings) -> Result<AsyncSmtpConnection, SendError> {
    let addr = format!("{}:{}", s.host, s.port);
    within(s.timeout, &format!("greeting {addr}"), handshake(s, &addr)).await
}

async fn handshake(s: &SmtpSettings, addr: &str) -> Result<AsyncSmtpConnection, SendError> {
    let stream = tokio::time::timeout(
        Duration::from_secs(15),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    .map_err(|_| SendError::Transient(format!("connecting to {addr} timed out")))?
    .map_err(|e| SendError::Transient(format!("cannot connect to {addr}: {e}")))?;
    stream
        .set_nodelay(true)
        .map_err(|e| SendError::Transient(e.to_string()))?;
    let hello = ClientId::Domain(s.hello.clone());
    let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello)
        .await
        .map_err(|e| SendError::from_smtp(&e))?;
    if matches!(s.tls, Tls::Opportunistic | Tls::Required) {
        let offered = conn.can_starttls();
        if offered {
            let params = TlsParameters::new(s.host.clone())
                .map_err(|e| SendError::Transient(e.to_string()))?;
            conn.starttls(params, &hello)
                .await
                .map_err(|e| SendError::from_smtp(&e))?;
        } else if s.tls == Tls::Required {
            return Err(SendError::Transient(format!(
                "{addr} does not offer STARTTLS and TLS is required"
            )));
        }
    }
    if let Some((u, p)) = &s.credentials {
        conn.auth(
            &[Mechanism::Plain, Mechanism::Login],
            &Credentials::new(u.clone(), p.clone()),
        )
        .await
        .map_err(|e| SendError::from_smtp(&e))?;
    }
    Ok(conn)
}

fn write_eml(dir: &Path, message: &lettre::Message) -> Result<(), SendError> {
    use std::io::Write;
    std::fs::create_dir_all(dir)
        .map_err(|e| SendError::Transient(format!("cannot create {}: {e}", dir.display())))?;
    let id = message
        .headers()
        .get_raw("Message-ID")
        .map(|v| {
            v.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
                .collect::<String>()
        })
        .unwrap_or_else(cms_core::tokens::random_token);
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| SendError::Transient(e.to_string()))?;
    tmp.write_all(&message.formatted())
        .map_err(|e| SendError::Transient(e.to_string()))?;
    tmp.persist(dir.join(format!("{id}.eml")))
        .map_err(|e| SendError::Transient(e.to_string()))?;
    Ok(())
}

/// Sends one message through `slot`'s connection, opening or reopening it as needed.
pub async fn send(
    transport: &Transport,
    slot: &mut Slot,
    message: &lettre::Message,
) -> Result<(), SendError> {
    match transport {
        Transport::Files(dir) => {
            let (dir, m) = (dir.clone(), message.clone());
            tokio::task::spawn_blocking(move || write_eml(&dir, &m))
                .await
                .map_err(|e| SendError::Transient(e.to_string()))?
        }
        Transport::SmtpsPool(pool) => pool
            .send(message.clone())
            .await
            .map(drop)
            .map_err(|e| SendError::from_smtp(&e)),
        Transport::Smtp(settings) => {
            if slot.conn.as_ref().is_none_or(|c| c.has_broken()) {
                slot.conn = Some(connect(settings).await?);
            }
            let Some(conn) = slot.conn.as_mut() else {
                return Err(SendError::Transient("no connection".into()));
            };
            let sent = tokio::time::timeout(
                settings.timeout,
                conn.send(message.envelope(), &message.formatted()),
            )
            .await;
            match sent {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => {
                    let err = SendError::from_smtp(&e);
                    if conn.has_broken() || !e.is_response() {
                        slot.conn = None;
                    }
                    Err(err)
                }
                Err(_) => {
                    // Where the exchange stopped is unknown: this connection is done with.
                    slot.conn = None;
                    Err(SendError::Transient(format!(
                        "sending: no answer from the SMTP server in {} s",
                        settings.timeout.as_secs_f32()
                    )))
                }
            }
        }
    }
}

/// Closes a slot's connection politely.
pub async fn close(slot: &mut Slot) {
    if let Some(mut c) = slot.conn.take() {
        let _ = c.quit().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let s = SmtpSettings::parse(
            "smtp://user%40x:p%3As+s@mail.example:2525?tls=required",
            "site",
        )
        .expect("valid");
        assert_eq!(
            (s.host.as_str(), s.port, s.tls),
            ("mail.example", 2525, Tls::Required)
        );
        assert_eq!(s.credentials, Some(("user@x".into(), "p:s+s".into())));
        assert_eq!(
            SmtpSettings::parse("smtp://127.0.0.1:2525?tls=none", "h")
                .expect("ok")
                .tls,
            Tls::None
        );
        assert_eq!(
            SmtpSettings::parse("smtps://mail.example", "h")
                .expect("ok")
                .port,
            465
        );
        assert!(SmtpSettings::parse("smtp://h?tls=maybe", "h").is_err());
    }

    fn message() -> lettre::Message {
        lettre::Message::builder()
            .from("site@example.org".parse().expect("address"))
            .to("fan@example.org".parse().expect("address"))
            .subject("hello")
            .body(String::from("hello"))
            .expect("message")
    }

    /// A server that accepts and then says nothing, or greets and then stalls in the middle
    /// of a message, costs a sender its timeout, not for ever; the next message opens a new
    /// connection.
    #[tokio::test]
    async fn a_stalled_server_times_out() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        // First connection: silence. Second: a greeting and answers until DATA, then silence.
        tokio::spawn(async move {
            let mut held = Vec::new();
            let (silent, _) = listener.accept().await.expect("accept");
            held.push(silent);
            let (mut talker, _) = listener.accept().await.expect("accept");
            talker.write_all(b"220 sink\r\n").await.expect("write");
            let mut buf = [0u8; 4096];
            loop {
                let n = talker.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                let line = String::from_utf8_lossy(&buf[..n]).to_ascii_uppercase();
                if line.starts_with("EHLO") {
                    talker.write_all(b"250 sink\r\n").await.expect("write");
                } else if line.starts_with("DATA") {
                    // Never answers the DATA command.
                    held.push(talker);
                    break;
                } else {
                    talker.write_all(b"250 ok\r\n").await.expect("write");
                }
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(held);
        });
        let mut settings =
            SmtpSettings::parse(&format!("smtp://127.0.0.1:{port}?tls=none"), "site")
                .expect("valid");
        settings.timeout = Duration::from_millis(300);
        let transport = Transport::Smtp(settings);
        let mut slot = Slot::new();
        let started = std::time::Instant::now();
        let greeting = send(&transport, &mut slot, &message()).await;
        assert!(
            matches!(&greeting, Err(SendError::Transient(t)) if t.contains("no answer")),
            "{greeting:?}"
        );
        assert!(slot.conn.is_none());
        let data = send(&transport, &mut slot, &message()).await;
        assert!(
            matches!(&data, Err(SendError::Transient(t)) if t.starts_with("sending")),
            "{data:?}"
        );
        assert!(slot.conn.is_none(), "a stalled connection is not kept");
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}
