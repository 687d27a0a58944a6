//! The one way out: every request Tether sends on a tenant's behalf (token exchange, refresh and revocation, the
//! proxy and "Try it out", pollers, event deliveries, the sandbox's webhooks) goes through [`Outbound`]. Unless
//! private networks are allowed, it refuses any host that is, or resolves to, an internal address, connects only
//! to the addresses it checked (no second lookup), and never follows a redirect.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Why an address is not for tenants: `None` for a public address.
pub fn internal_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => internal_v4(ip),
        IpAddr::V6(ip) => internal_v6(ip),
    }
}

fn internal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private-network address",
        _ if ip.is_link_local() => "a link-local address",
        _ if ip.is_broadcast() => "the broadcast address",
        _ if ip.is_multicast() => "a multicast address",
        (0, _, _) => "an unspecified (this-network) address",
        (100, 64..=127, _) => "a shared (CGNAT) address",
        (198, 18..=19, _) => "a benchmarking address",
        (192, 0, 0) => "an IETF protocol address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (240..=255, _, _) => "a reserved address",
        _ => return None,
    })
}

fn internal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    let embedded_v4 = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return internal_v4(mapped);
    }
    Some(match segments {
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() => "the unspecified address",
        _ if ip.is_multicast() => "a multicast address",
        // IPv4-compatible (::a.b.c.d), deprecated: no public host is reached that way.
        [0, 0, 0, 0, 0, 0, _, _] => "an IPv4-compatible address",
        // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they carry.
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => return internal_v4(embedded_v4(high, low)),
        [0x64, 0xff9b, 1, ..] => "a local-use NAT64 address",
        [0x2002, high, low, ..] => return internal_v4(embedded_v4(high, low)),
        // Teredo tunnels to an address it hides.
        [0x2001, 0, ..] => "a Teredo address",
        [0x2001, 0xdb8, ..] => "a documentation address",
        [0x100, 0, 0, 0, ..] => "a discard-only address",
        [first, ..] if first & 0xffc0 == 0xfe80 => "a link-local address",
        [first, ..] if first & 0xffc0 == 0xfec0 => "a site-local address",
        [first, ..] if first & 0xfe00 == 0xfc00 => "a unique-local address",
        _ => return None,
    })
}

/// Why a literal host is not for tenants: an internal address, or a name of this machine.
pub fn internal_host(host: &url::Host<&str>) -> Option<String> {
    match host {
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            (name == "localhost" || name.ends_with(".localhost") || name.is_empty())
                .then(|| format!("{host} names this machine"))
        }
        url::Host::Ipv4(ip) => internal_kind((*ip).into()).map(|kind| format!("{ip} is {kind}")),
        url::Host::Ipv6(ip) => internal_kind((*ip).into()).map(|kind| format!("[{ip}] is {kind}")),
    }
}

/// A destination the policy refuses; the message says which host and why, never what answered there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}, which Tether does not connect to for tenants")]
pub struct Refused(pub String);

/// What sending through [`Outbound`] can end in besides an answer.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The destination is refused by the policy; nothing was sent.
    #[error(transparent)]
    Refused(Refused),
    /// The request went out, or tried to, and failed: a connection error, a timeout, a broken answer.
    #[error(transparent)]
    Failed(reqwest::Error),
}

/// The outbound policy's settings.
#[derive(Clone, Debug, Default)]
pub struct OutboundSettings {
    /// Lifts the address check (`TETHER_ALLOW_PRIVATE_NETWORK`), for trials and tests on one machine.
    pub allow_private: bool,
    /// Names answered without asking the system's resolver, as `/etc/hosts` would; their addresses pass the same
    /// check as any other. Tests use it to point a name at loopback.
    pub hosts: BTreeMap<String, Vec<IpAddr>>,
    /// URL prefixes the operator vouches for, reached whatever the policy (Tether Sandbox, served by this node).
    pub trusted_prefixes: Vec<String>,
}

/// Resolves names, keeping only addresses the policy allows; a name with none left is refused.
struct GuardedResolver {
    settings: Arc<OutboundSettings>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let settings = self.settings.clone();
        Box::pin(async move {
            let name = name.as_str().trim_end_matches('.').to_ascii_lowercase();
            let found: Vec<SocketAddr> = match settings.hosts.get(&name) {
                Some(addresses) => addresses.iter().map(|ip| SocketAddr::new(*ip, 0)).collect(),
                None => tokio::net::lookup_host((name.as_str(), 0)).await?.collect(),
            };
            if settings.allow_private {
                return Ok(Box::new(found.into_iter()) as Addrs);
            }
            // Every address must pass: a name that mixes public and internal addresses is a rebinding attempt.
            if let Some(kind) = found.iter().find_map(|address| internal_kind(address.ip())) {
                return Err(Box::new(Refused(format!("{name} resolves to {kind}"))) as _);
            }
            if found.is_empty() {
                return Err(format!("{name} resolves to no address").into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// The guarded HTTP client. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    settings: Arc<OutboundSettings>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Outbound").field("allow_private", &self.settings.allow_private).finish_non_exhaustive()
    }
}

/// Idle keep-alive connections kept per provider host, and how long one stays open unused.
const POOL_IDLE_PER_HOST: usize = 64;
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

impl Outbound {
    pub fn new(settings: OutboundSettings) -> Outbound {
        let settings = Arc::new(settings);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would connect on Tether's behalf to whatever it is asked for.
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            // Bounded, so that a burst of concurrent calls does not leave hundreds of idle connections, each with
            // its buffers, open for long after it.
            .pool_max_idle_per_host(POOL_IDLE_PER_HOST)
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .user_agent("Tether")
            .dns_resolver(Arc::new(GuardedResolver { settings: settings.clone() }))
            .build()
            .expect("the outbound HTTP client builds");
        Outbound { client, settings }
    }

    /// Refuses a URL whose literal host is internal; names are checked when they are resolved.
    pub fn check_literal(&self, url: &url::Url) -> Result<(), Refused> {
        if self.is_trusted(url) {
            return Ok(());
        }
        let host = url.host().ok_or_else(|| Refused(format!("{url} has no host")))?;
        match internal_host(&host) {
            Some(reason) if !self.settings.allow_private => Err(Refused(reason)),
            _ => Ok(()),
        }
    }

    /// Refuses a URL whose host is, or resolves to, an internal address: the check a value gets when it is
    /// saved, so that a bad one is refused then rather than at its first use.
    pub async fn check(&self, url: &url::Url) -> Result<(), Refused> {
        self.check_literal(url)?;
        if self.settings.allow_private || self.is_trusted(url) {
            return Ok(());
        }
        let Some(url::Host::Domain(name)) = url.host() else { return Ok(()) };
        let Ok(name) = name.parse::<Name>() else { return Err(Refused(format!("{name} is not a host name"))) };
        let resolver = GuardedResolver { settings: self.settings.clone() };
        match resolver.resolve(name).await {
            Ok(_) => Ok(()),
            Err(error) => match error.downcast::<Refused>() {
                Ok(refused) => Err(*refused),
                // A name that does not resolve now may later; the connection is checked again then.
                Err(_) => Ok(()),
            },
        }
    }

    fn is_trusted(&self, url: &url::Url) -> bool {
        self.settings.trusted_prefixes.iter().any(|prefix| url.as_str().starts_with(prefix.as_str()))
    }

    /// A request to build; nothing is checked or sent until [`Outbound::send`].
    pub fn request(&self, method: reqwest::Method, url: url::Url) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    pub fn post(&self, url: url::Url) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, url)
    }

    /// Sends a request made by [`Outbound::request`], after checking its literal host; the resolver checks names.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, OutboundError> {
        let request = request.build().map_err(OutboundError::Failed)?;
        self.check_literal(request.url()).map_err(OutboundError::Refused)?;
        self.client.execute(request).await.map_err(|error| match refusal_in(&error) {
            Some(refused) => OutboundError::Refused(refused),
            None => OutboundError::Failed(error),
        })
    }
}

/// The policy's refusal behind a failed connection, if that is why it failed.
fn refusal_in(error: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    let mut source = Some(error);
    while let Some(current) = source {
        if let Some(refused) = current.downcast_ref::<Refused>() {
            return Some(refused.clone());
        }
        source = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<&'static str> {
        internal_kind(text.parse().unwrap())
    }

    #[test]
    fn every_internal_range_is_refused_and_public_addresses_pass() {
        for internal in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "198.18.0.1",
            "198.19.255.255",
            "0.0.0.0",
            "0.0.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "240.0.0.1",
            "::1",
            "::",
            "::127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2002:7f00:1::",
            "fec0::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "2001:0:4136:e378::1",
        ] {
            assert!(kind(internal).is_some(), "{internal} passed as public");
        }
        for public in ["93.184.216.34", "8.8.8.8", "100.128.0.1", "198.20.0.1", "2606:4700::1111", "64:ff9b::808:808"] {
            assert_eq!(kind(public), None, "{public} was refused");
        }
    }

    #[test]
    fn names_of_this_machine_are_refused_with_or_without_the_final_dot() {
        for url in ["http://localhost/", "http://LOCALHOST./", "http://api.localhost/", "http://[::127.0.0.1]/"] {
            let url = url::Url::parse(url).unwrap();
            assert!(internal_host(&url.host().unwrap()).is_some(), "{url}");
        }
        assert_eq!(internal_host(&url::Url::parse("https://example.com/").unwrap().host().unwrap()), None);
    }

    /// A loopback listener that counts the connections it accepts and answers each with 204.
    async fn counting_listener() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buffer = [0u8; 1024];
                    let _ = socket.read(&mut buffer).await;
                    let _ = socket.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
                });
            }
        });
        (port, accepted)
    }

    #[tokio::test]
    async fn internal_destinations_are_refused_before_connecting_unless_allowed() {
        use std::sync::atomic::Ordering;
        let (port, accepted) = counting_listener().await;
        let hosts = BTreeMap::from([("inward.test".to_owned(), vec![IpAddr::from([127, 0, 0, 1])])]);
        let trusted = format!("http://127.0.0.1:{port}/trusted/");
        let guarded = Outbound::new(OutboundSettings {
            allow_private: false,
            hosts: hosts.clone(),
            trusted_prefixes: vec![trusted.clone()],
        });
        for target in ["localhost", "localhost.", "127.0.0.1", "[::ffff:127.0.0.1]", "inward.test", "INWARD.TEST."] {
            let url = url::Url::parse(&format!("http://{target}:{port}/hook")).unwrap();
            match guarded.send(guarded.post(url.clone())).await {
                Err(OutboundError::Refused(_)) => {}
                other => panic!("{url}: {other:?}"),
            }
            assert!(guarded.check(&url).await.is_err(), "{url}");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 0, "a refused destination was connected to");
        let escaped = url::Url::parse(&format!("{trusted}../elsewhere")).unwrap();
        assert!(matches!(guarded.send(guarded.post(escaped)).await, Err(OutboundError::Refused(_))));
        let vouched = url::Url::parse(&format!("{trusted}inbox")).unwrap();
        assert_eq!(guarded.send(guarded.post(vouched)).await.unwrap().status(), 204);
        let open = Outbound::new(OutboundSettings { allow_private: true, hosts, trusted_prefixes: Vec::new() });
        for target in ["localhost", "127.0.0.1", "inward.test"] {
            let url = url::Url::parse(&format!("http://{target}:{port}/hook")).unwrap();
            assert_eq!(open.send(open.post(url.clone())).await.unwrap().status(), 204);
            assert!(open.check(&url).await.is_ok());
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 4);
    }
}
