//! `ClientIpResolver::resolve` on any header values, for each kind of
//! header it reads (`X-Forwarded-For`, `Forwarded`, single-address
//! headers), behind trusted IPv4 and IPv6 proxies.
//!
//! Properties: an untrusted peer is the client whatever the headers say;
//! the answer is canonical (no IPv4-mapped IPv6); and whatever a client
//! put in the header, the untrusted address a trusted proxy appends on
//! the right is the answer, while a trusted one appended changes nothing
//! but possibly naming itself.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::Arbitrary;
use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use loginguard_core::client_ip::{canonical_ip, ClientIpResolver};

const HEADERS: [&str; 5] = [
    "x-forwarded-for",
    "Forwarded",
    "x-real-ip",
    " CF-Connecting-IP ",
    "true-client-ip",
];

const TRUSTED: [&str; 4] = ["10.0.0.0/8", "127.0.0.1/32", "2001:db8:1::/48", "::1/128"];

/// Trusted peers, including an IPv4-mapped one.
const TRUSTED_PEERS: [&str; 4] = ["10.1.2.3", "::ffff:10.9.9.9", "2001:db8:1::7", "::1"];

#[derive(Debug, Arbitrary)]
enum Peer {
    Trusted(u8),
    Any(IpAddr),
}

#[derive(Debug, Arbitrary)]
struct Input {
    header: u8,
    peer: Peer,
    values: Vec<Vec<u8>>,
    appended: Appended,
}

/// What the trusted proxy writes for the address it saw.
#[derive(Debug, Arbitrary)]
struct Appended {
    ip: Addr,
    with_port: Option<u16>,
    /// As its own header line, or after `, ` on the last one.
    own_line: bool,
}

#[derive(Debug, Arbitrary)]
enum Addr {
    V4([u8; 4]),
    V6([u8; 16]),
    /// An IPv4-mapped IPv6 address (what a `[::]` listener reports).
    Mapped([u8; 4]),
    TrustedV4(u8, u8, u8),
}

impl Addr {
    fn ip(&self) -> IpAddr {
        match *self {
            Addr::V4(o) => IpAddr::V4(Ipv4Addr::from(o)),
            Addr::V6(o) => IpAddr::V6(Ipv6Addr::from(o)),
            Addr::Mapped(o) => IpAddr::V6(Ipv4Addr::from(o).to_ipv6_mapped()),
            Addr::TrustedV4(a, b, c) => IpAddr::V4(Ipv4Addr::new(10, a, b, c)),
        }
    }
}

/// The header text a proxy writes for `ip`.
fn written(forwarded: bool, ip: IpAddr, port: Option<u16>) -> String {
    let node = match (ip, port) {
        (IpAddr::V4(v4), None) => v4.to_string(),
        (IpAddr::V4(v4), Some(p)) => format!("{v4}:{p}"),
        (IpAddr::V6(v6), None) if !forwarded => v6.to_string(),
        (IpAddr::V6(v6), None) => format!("[{v6}]"),
        (IpAddr::V6(v6), Some(p)) => format!("[{v6}]:{p}"),
    };
    if forwarded {
        // RFC 7239: an IPv6 node or one with a port is a quoted string.
        if node.contains([':', '[']) {
            format!("for=\"{node}\";proto=https")
        } else {
            format!("for={node}")
        }
    } else {
        node
    }
}

fn resolve(r: &ClientIpResolver, peer: IpAddr, values: &[Vec<u8>]) -> IpAddr {
    r.resolve(peer, values.iter().map(Vec::as_slice))
}

fuzz_target!(|input: Input| {
    let trusted: Vec<IpNet> = TRUSTED.iter().filter_map(|n| n.parse().ok()).collect();
    let header = HEADERS[usize::from(input.header) % HEADERS.len()];
    let r = ClientIpResolver::new(trusted, header);
    let forwarded = r.header() == "forwarded";
    let peer = match input.peer {
        Peer::Trusted(i) => TRUSTED_PEERS[usize::from(i) % TRUSTED_PEERS.len()]
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        Peer::Any(ip) => ip,
    };

    let client = resolve(&r, peer, &input.values);
    assert_eq!(client, canonical_ip(client), "not canonical");
    if !r.is_trusted(peer) {
        assert_eq!(
            client,
            canonical_ip(peer),
            "an untrusted peer's header was read"
        );
        return;
    }

    // The trusted proxy appends the address it saw.
    let appended = input.appended.ip.ip();
    let text = written(forwarded, appended, input.appended.with_port);
    let mut values = input.values.clone();
    match values.last_mut() {
        Some(last) if !input.appended.own_line => {
            last.extend_from_slice(b", ");
            last.extend_from_slice(text.as_bytes());
        }
        _ => values.push(text.into_bytes()),
    }
    let after = resolve(&r, peer, &values);
    let appended = canonical_ip(appended);
    if r.is_trusted(appended) {
        assert!(
            after == client || after == appended,
            "a trusted hop {appended} changed {client} into {after}"
        );
    } else {
        assert_eq!(after, appended, "the proxy's own entry was not the answer");
    }
});
