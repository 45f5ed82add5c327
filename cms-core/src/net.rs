//! Who a request comes from. Behind a reverse proxy every connection comes from the proxy, so
//! the client's address is read from `Forwarded` / `X-Forwarded-For` — but only when the
//! connection comes from a proxy named in `CMS_TRUSTED_PROXIES`, and only as far back as the
//! chain of trusted proxies goes: anything further left was written by the client and is
//! ignored. Throttles, the sign-up limit, the audit log and the access log all use this one
//! answer.

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose forwarding headers are believed (addresses or CIDR ranges).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma- or space-separated list: `127.0.0.1, 10.0.0.0/8, ::1`.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let net = match item.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        return Err(format!(
                            "'{item}' is not an address or a range, e.g. 127.0.0.1 or 10.0.0.0/8"
                        ));
                    }
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    /// True when `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then, walking
    /// the forwarding chain from the nearest hop, the first address that is not a trusted
    /// proxy. `Forwarded` (RFC 7239) is read when present, else `X-Forwarded-For`.
    pub fn client(
        &self,
        peer: Option<IpAddr>,
        forwarded: Option<&str>,
        x_forwarded_for: Option<&str>,
    ) -> Option<IpAddr> {
        let peer = peer.map(canonical)?;
        if !self.contains(peer) {
            return Some(peer);
        }
        let hops: Vec<Option<IpAddr>> = match (forwarded, x_forwarded_for) {
            (Some(f), _) => f
                .split(',')
                .map(|element| {
                    element
                        .split(';')
                        .filter_map(|pair| pair.split_once('='))
                        .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                        .and_then(|(_, v)| parse_hop(v))
                })
                .collect(),
            (None, Some(x)) => x.split(',').map(parse_hop).collect(),
            (None, None) => return Some(peer),
        };
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            match hop {
                Some(ip) => {
                    client = ip;
                    if !self.contains(ip) {
                        break;
                    }
                }
                // An address that cannot be read (`unknown`, garbage): stop at the last one
                // that could.
                None => break,
            }
        }
        Some(client)
    }
}

/// The client of a request from its peer address and a header lookup, by the site's trusted
/// proxies (none known: the peer). The web and admin plugins both ask through this.
pub fn client_of<'h>(
    proxies: Option<&TrustedProxies>,
    peer: Option<IpAddr>,
    header: impl Fn(&str) -> Option<&'h str>,
) -> Option<IpAddr> {
    match proxies {
        Some(p) => p.client(peer, header("forwarded"), header("x-forwarded-for")),
        None => peer,
    }
}

/// One hop of a forwarding header: `203.0.113.7`, `"[2001:db8::1]:4711"`, `198.51.100.2:80`.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest
            .split_once(']')
            .and_then(|(ip, _)| ip.parse().ok())
            .map(canonical);
    }
    s.rsplit_once(':')
        .and_then(|(ip, _)| ip.parse().ok())
        .map(canonical)
}

/// IPv4-mapped IPv6 addresses as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn the_client_is_found_only_through_trusted_proxies() {
        let none = TrustedProxies::default();
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8 ::1").expect("parse");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.example").is_err());
        // No trusted proxies: the headers are the client's words.
        assert_eq!(
            none.client(ip("127.0.0.1"), None, Some("203.0.113.7")),
            ip("127.0.0.1")
        );
        // From an untrusted peer: the same.
        assert_eq!(
            proxies.client(ip("198.51.100.1"), None, Some("203.0.113.7")),
            ip("198.51.100.1")
        );
        // Through nginx on loopback.
        assert_eq!(
            proxies.client(ip("127.0.0.1"), None, Some("203.0.113.7")),
            ip("203.0.113.7")
        );
        // A client that sends its own X-Forwarded-For cannot choose its address.
        assert_eq!(
            proxies.client(
                ip("127.0.0.1"),
                None,
                Some("1.2.3.4, 203.0.113.7, 10.0.0.5")
            ),
            ip("203.0.113.7")
        );
        // RFC 7239, IPv6 with a port, IPv4-mapped peers.
        assert_eq!(
            proxies.client(
                ip("::ffff:127.0.0.1"),
                Some("for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\""),
                Some("9.9.9.9")
            ),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            proxies.client(ip("::1"), None, Some("unknown, 10.0.0.2")),
            ip("10.0.0.2")
        );
        assert_eq!(proxies.client(ip("127.0.0.1"), None, None), ip("127.0.0.1"));
    }
}
