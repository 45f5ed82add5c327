//! Fetching an old site's files over HTTP(S) (`cms import wordpress --fetch-media`), with the
//! guards a server that fetches addresses taken from a file needs against request forgery:
//! only `http` and `https`; every address a host name resolves to must be public (not
//! loopback, private, link-local, shared, multicast, reserved or documentation), checked for
//! every connection, redirects included, on the very addresses connected to (no second DNS
//! look-up to rebind); a size limit; time limits.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// True for addresses on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let o = v6.octets();
                return is_public_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1)
                || (s[0..5] == [0, 0, 0, 0, 0] && s[5] == 0)) // IPv4-compatible (deprecated)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space (CGNAT)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
        || o[0] >= 240) // reserved
}

/// A resolver that refuses hosts with any address that is not public.
#[derive(Debug)]
struct PublicOnly {
    inner: DefaultResolver,
    allow_private: bool,
    /// What allows private addresses, for the refusal's message.
    hint: &'static str,
}

impl Resolver for PublicOnly {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        if !self.allow_private
            && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip()))
        {
            return Err(ureq::Error::Other(
                format!(
                    "refused: {} is a private or reserved address ({} allows it)",
                    bad.ip(),
                    self.hint
                )
                .into(),
            ));
        }
        Ok(addrs)
    }
}

/// Fetches files over HTTP(S) within the guards above.
#[derive(Debug)]
pub struct Fetcher {
    agent: ureq::Agent,
    max_bytes: u64,
}

/// What a server answered a POST: its status and the start of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Fetcher {
    /// A fetcher that reads at most `max_bytes` per file (an import: two minutes a file).
    pub fn new(allow_private: bool, max_bytes: u64) -> Fetcher {
        Fetcher::with_limits(
            allow_private,
            max_bytes,
            Duration::from_secs(120),
            "site import",
        )
    }

    /// A fetcher with its own time limit per file, saying what it fetches for in its
    /// user agent.
    pub fn with_limits(
        allow_private: bool,
        max_bytes: u64,
        per_file: Duration,
        purpose: &str,
    ) -> Fetcher {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10).min(per_file)))
            .timeout_global(Some(per_file))
            .max_redirects(5)
            // A proxy from the environment would be connected to instead of the checked
            // addresses.
            .proxy(None)
            .user_agent(format!(
                "Keepsake/{} ({purpose})",
                env!("CARGO_PKG_VERSION")
            ))
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            DefaultConnector::new(),
            PublicOnly {
                inner: DefaultResolver::default(),
                allow_private,
                hint: "--allow-private-addresses",
            },
        );
        Fetcher { agent, max_bytes }
    }

    /// A sender of webhooks: `timeout` for the whole exchange, redirects not followed (a 3xx
    /// is an answer like any other), any status an answer rather than an error, and at most
    /// `max_bytes` of a response body read.
    pub fn for_posts(allow_private: bool, timeout: Duration, max_bytes: u64) -> Fetcher {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(5).min(timeout)))
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .proxy(None)
            .user_agent(format!("Keepsake/{} (webhooks)", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            DefaultConnector::new(),
            PublicOnly {
                inner: DefaultResolver::default(),
                allow_private,
                hint: "CMS_WEBHOOK_ALLOW_PRIVATE=true",
            },
        );
        Fetcher { agent, max_bytes }
    }

    /// POSTs `body` as JSON with `headers`; the answer whatever its status, or why there was
    /// none (one line).
    pub fn post_json(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &str,
    ) -> Result<Answer, String> {
        use std::io::Read;
        let parsed = checked(url)?;
        let mut req = self
            .agent
            .post(parsed.as_str())
            .header("content-type", "application/json");
        for (name, value) in headers {
            req = req.header(*name, value.as_str());
        }
        let mut resp = req.send(body).map_err(|e| match e {
            ureq::Error::Other(inner) => inner.to_string(),
            other => other.to_string(),
        })?;
        let status = resp.status().as_u16();
        let mut start = Vec::new();
        // What the receiver says is kept for the log, a little of it: the rest is not read.
        let _ = resp
            .body_mut()
            .as_reader()
            .take(self.max_bytes)
            .read_to_end(&mut start);
        Ok(Answer {
            status,
            body: String::from_utf8_lossy(&start).into_owned(),
        })
    }

    /// The bytes at `url`, or why not (one line).
    pub fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let parsed = checked(url)?;
        let mut resp = self
            .agent
            .get(parsed.as_str())
            .call()
            .map_err(|e| match e {
                ureq::Error::StatusCode(code) => format!("the server answered {code}"),
                ureq::Error::Other(inner) => inner.to_string(),
                other => other.to_string(),
            })?;
        resp.body_mut()
            .with_config()
            .limit(self.max_bytes)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => {
                    format!("larger than {} MB", self.max_bytes >> 20)
                }
                other => other.to_string(),
            })
    }
}

/// `url` parsed, if it is http or https without credentials.
pub fn checked(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| format!("not an address ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "refused: only http and https ({} given)",
            parsed.scheme()
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("refused: addresses with a user name or password".into());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("refused: an address without a host".into());
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "198.18.0.1",
        ] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert!(!is_public(ip), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:93.184.216.34",
        ] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert!(is_public(ip), "{ip}");
        }
    }

    #[test]
    fn only_http_and_https() {
        let f = Fetcher::new(false, 1 << 20);
        assert!(
            f.get("file:///etc/passwd")
                .expect_err("refused")
                .contains("only http")
        );
        assert!(
            f.get("gopher://x.example/")
                .expect_err("refused")
                .contains("only http")
        );
        assert!(
            f.get("http://user:pw@x.example/")
                .expect_err("refused")
                .contains("user name")
        );
        let e = f.get("http://127.0.0.1:9/x.jpg").expect_err("refused");
        assert!(e.contains("private"), "{e}");
        let e = f.get("http://[::1]:9/x.jpg").expect_err("refused");
        assert!(e.contains("private"), "{e}");
        let e = f.get("http://localhost:9/x.jpg").expect_err("refused");
        assert!(e.contains("private"), "{e}");
    }
}
