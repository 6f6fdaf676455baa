//! The client's network address, which the sign-in throttles count by: the
//! peer of the connection, or, when that peer is one of the configured
//! trusted proxies (`[server] trusted_proxies`), the address the proxies
//! wrote into `X-Forwarded-For`. Without trusted proxies the header is
//! ignored, because anyone can send it.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::http::{Extensions, HeaderMap};

/// One trusted proxy: an address, or a network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    net: IpAddr,
    prefix: u8,
}

impl ProxyNet {
    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for ProxyNet {
    type Err = String;

    /// `10.0.0.7`, `10.0.0.0/8`, `::1` or `fd00::/8`.
    fn from_str(text: &str) -> Result<ProxyNet, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let net = IpAddr::from_str(addr).map_err(|_| {
            format!("'{text}' is not an IP address or a network like 10.0.0.0/8 or fd00::/8")
        })?;
        let net = net.to_canonical();
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| {
                format!("'{text}': the prefix length must be a number from 0 to {max}")
            })?,
        };
        Ok(ProxyNet { net, prefix })
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ProxyNet>);

impl TrustedProxies {
    /// Parses a list of addresses and networks; the error names the
    /// entry that is neither.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .map(|e| e.as_ref().parse())
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client of a request that came from `peer`: the peer itself
    /// unless it is trusted; else, from the right of `X-Forwarded-For`
    /// (each proxy appends the address it was reached from), the first
    /// address that is not a trusted proxy. Everything left of it may be
    /// made up by the client and is never read. An entry that is not an
    /// address where one is needed leaves the peer as the client.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(ip) = parse_entry(entry) else {
                tracing::debug!(
                    entry,
                    "X-Forwarded-For holds something that is not an address"
                );
                return peer;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// An entry of `X-Forwarded-For`: an address, perhaps with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    IpAddr::from_str(entry)
        .ok()
        .or_else(|| SocketAddr::from_str(entry).ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// The key the throttles count a client by: its IPv4 address, or the /64
/// network of its IPv6 address (one connection commonly holds a whole /64,
/// so counting single IPv6 addresses would count nothing).
pub fn throttle_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let net = Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64));
            format!("{net}/64")
        }
    }
}

/// The throttle key of a request's client (see [`TrustedProxies::client`]);
/// `unknown` when the server was started without connection information
/// (library use).
pub fn client_address(
    proxies: &TrustedProxies,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> String {
    extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map_or_else(
            || "unknown".to_string(),
            |c| throttle_key(proxies.client(c.0.ip(), headers)),
        )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn networks_parse_and_contain() {
        let net: ProxyNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.200.1.2")));
        assert!(net.contains(ip("::ffff:10.1.1.1")), "IPv4-mapped");
        assert!(!net.contains(ip("11.0.0.1")));
        let one: ProxyNet = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: ProxyNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let all: ProxyNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        for bad in ["proxy.example", "10.0.0.0/33", "::/129", "10.0.0.0/x", ""] {
            let e = bad.parse::<ProxyNet>().unwrap_err();
            assert!(e.contains(bad.trim()), "{e}");
        }
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_peer() {
        let none = TrustedProxies::default();
        let h = headers(&["203.0.113.9"]);
        assert_eq!(none.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "192.0.2.1"]).unwrap();
        assert_eq!(
            proxies.client(ip("198.51.100.1"), &h),
            ip("198.51.100.1"),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(proxies.client(ip("10.0.0.5"), &h), ip("203.0.113.9"));
        assert_eq!(
            proxies.client(ip("10.0.0.5"), &HeaderMap::new()),
            ip("10.0.0.5"),
            "no header: the proxy itself"
        );
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "192.0.2.1"]).unwrap();
        // The client made up the first entry; the proxies appended the rest.
        let h = headers(&["1.2.3.4, 203.0.113.9", "192.0.2.1"]);
        assert_eq!(proxies.client(ip("10.0.0.5"), &h), ip("203.0.113.9"));
        let h = headers(&["1.2.3.4, 203.0.113.9:4711"]);
        assert_eq!(proxies.client(ip("10.0.0.5"), &h), ip("203.0.113.9"));
        let h = headers(&["[2001:db8::1]:443"]);
        assert_eq!(proxies.client(ip("10.0.0.5"), &h), ip("2001:db8::1"));
        // Only proxies: the leftmost of them.
        let h = headers(&["10.1.1.1, 10.2.2.2"]);
        assert_eq!(proxies.client(ip("10.0.0.5"), &h), ip("10.1.1.1"));
        // Garbage where an address is needed: the peer.
        let h = headers(&["203.0.113.9, nonsense"]);
        assert_eq!(proxies.client(ip("10.0.0.5"), &h), ip("10.0.0.5"));
    }

    #[test]
    fn ipv6_clients_count_by_their_64_network() {
        assert_eq!(throttle_key(ip("192.0.2.1")), "192.0.2.1");
        assert_eq!(throttle_key(ip("::ffff:192.0.2.1")), "192.0.2.1");
        assert_eq!(
            throttle_key(ip("2001:db8:1:2:3:4:5:6")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            throttle_key(ip("2001:db8:1:2:ffff::1")),
            throttle_key(ip("2001:db8:1:2::9"))
        );
    }
}
