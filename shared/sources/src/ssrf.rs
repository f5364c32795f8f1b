//! The SSRF guard (DESIGN.md "Audio sources"): a user-supplied URL may only reach global
//! addresses. The name is resolved and every non-global address refused; each redirect is
//! checked again; and the HTTP client connects only to addresses this guard resolved, so a
//! DNS answer cannot change between the check and the connection.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use url::{Host, Url};

/// Longest URL accepted from a user.
pub const URL_MAX: usize = 2048;
/// Redirects followed before giving up.
pub const REDIRECTS_MAX: usize = 5;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SsrfError {
    #[error("that is not a valid URL")]
    BadUrl,
    #[error("URLs are limited to {URL_MAX} characters")]
    TooLong,
    #[error("only http and https links can be played, not {0}:")]
    Scheme(String),
    #[error("that link has no host name")]
    NoHost,
    #[error("{host} points at a private or reserved address ({addr}), which is not allowed")]
    Refused { host: String, addr: IpAddr },
    #[error("{host} could not be resolved")]
    Unresolved { host: String },
    #[error("too many redirects (more than {REDIRECTS_MAX})")]
    TooManyRedirects,
}

type LookupFuture<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>>;

/// Name resolution, as a port: the system resolver in production, a fixed map in tests.
pub trait Lookup: Send + Sync + 'static {
    fn lookup<'a>(&'a self, host: &'a str) -> LookupFuture<'a>;
}

/// The operating system's resolver.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup<'a>(&'a self, host: &'a str) -> LookupFuture<'a> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host, 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

#[derive(Clone)]
pub struct Guard {
    lookup: Arc<dyn Lookup>,
    /// Exact addresses a self-hoster chose to allow (a LAN media server), and tests' servers.
    trusted: Arc<[IpAddr]>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("trusted", &self.trusted)
            .finish_non_exhaustive()
    }
}

impl Default for Guard {
    fn default() -> Self {
        Self::new(Arc::new(SystemLookup))
    }
}

impl Guard {
    pub fn new(lookup: Arc<dyn Lookup>) -> Self {
        Self {
            lookup,
            trusted: Arc::from(Vec::new()),
        }
    }

    /// Allows these exact addresses even though they are not global.
    pub fn trusting(mut self, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.trusted = addrs.into_iter().collect::<Vec<_>>().into();
        self
    }

    fn permits(&self, ip: IpAddr) -> bool {
        is_global(ip) || self.trusted.contains(&canonical(ip))
    }

    /// Parses a user's URL and checks its scheme and, for an address literal, the address.
    /// A name is checked when it is resolved, by [`Guard::check`] or by the client.
    pub fn check_syntax(&self, raw: &str) -> Result<Url, SsrfError> {
        if raw.len() > URL_MAX {
            return Err(SsrfError::TooLong);
        }
        let url = Url::parse(raw.trim()).map_err(|_| SsrfError::BadUrl)?;
        self.check_parsed(&url)?;
        Ok(url)
    }

    fn check_parsed(&self, url: &Url) -> Result<(), SsrfError> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(SsrfError::Scheme(other.to_owned())),
        }
        let addr = match url.host() {
            None => return Err(SsrfError::NoHost),
            Some(Host::Domain(_)) => return Ok(()),
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        };
        if self.permits(addr) {
            Ok(())
        } else {
            Err(SsrfError::Refused {
                host: url.host_str().unwrap_or_default().to_owned(),
                addr,
            })
        }
    }

    /// The whole check before a fetch: syntax, then the name's every address.
    pub async fn check(&self, raw: &str) -> Result<Url, SsrfError> {
        let url = self.check_syntax(raw)?;
        if let Some(Host::Domain(name)) = url.host() {
            self.resolve(name).await?;
        }
        Ok(url)
    }

    /// Resolves `host`, refusing it if any address is not allowed: a name that mixes public
    /// and private answers is a rebinding attempt, not a misconfiguration to route around.
    pub async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, SsrfError> {
        let host = host.trim_end_matches('.');
        let unresolved = || SsrfError::Unresolved {
            host: host.to_owned(),
        };
        // A bracketed or bare address literal needs no lookup.
        let literal = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        let addrs = match literal {
            Some(ip) => vec![ip],
            None => self.lookup.lookup(host).await.map_err(|_| unresolved())?,
        };
        if addrs.is_empty() {
            return Err(unresolved());
        }
        if let Some(bad) = addrs.iter().copied().find(|ip| !self.permits(*ip)) {
            return Err(SsrfError::Refused {
                host: host.to_owned(),
                addr: bad,
            });
        }
        Ok(addrs)
    }

    /// An HTTP client that resolves through this guard, re-checks every redirect and ignores
    /// proxy variables (a proxy would do the resolving instead of us).
    pub fn client(&self) -> Result<reqwest::Client, reqwest::Error> {
        let redirects = self.clone();
        reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolve(self.clone())))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > REDIRECTS_MAX {
                    return attempt.error(SsrfError::TooManyRedirects);
                }
                match redirects.check_parsed(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(e),
                }
            }))
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("TimmyBot/", env!("CARGO_PKG_VERSION")))
            .build()
    }
}

struct GuardedResolve(Guard);

impl reqwest::dns::Resolve for GuardedResolve {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        Box::pin(async move {
            let addrs = guard
                .resolve(name.as_str())
                .await
                .map_err(|e| Box::new(e) as Box<dyn StdError + Send + Sync>)?;
            let addrs: reqwest::dns::Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// An IPv4-mapped IPv6 address is its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is publicly routable. `IpAddr::is_global` is unstable, so the IANA special
/// registries are spelled out; anything special counts as not global.
pub fn is_global(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0                                  // this network
        || a == 10                            // private
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || a == 127                           // loopback
        || (a == 169 && b == 254)             // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)     // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)     // documentation
        || (a == 192 && b == 88 && c == 99)   // 6to4 relay anycast
        || (a == 192 && b == 168)             // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100)  // documentation
        || (a == 203 && b == 0 && c == 113)   // documentation
        || a >= 224) // multicast, reserved, broadcast
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // Only 2000::/3 is global unicast; inside it, carve out the special blocks.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    let ietf_protocol = s[0] == 0x2001 && s[1] < 0x0200; // 2001::/23, incl. Teredo
    let documentation = s[0] == 0x2001 && s[1] == 0x0db8; // 2001:db8::/32
    let six_to_four = s[0] == 0x2002; // 2002::/16 embeds any IPv4 address
    !(ietf_protocol || documentation || six_to_four)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_global_addresses_are_refused() {
        for s in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fc12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "64:ff9b::7f00:1",
        ] {
            assert!(!is_global(ip(s)), "{s} must not be global");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(is_global(ip(s)), "{s} is global");
        }
    }

    #[test]
    fn syntax_check_refuses_schemes_and_literals() {
        let g = Guard::default();
        assert_eq!(
            g.check_syntax("file:///etc/passwd"),
            Err(SsrfError::Scheme("file".into()))
        );
        assert_eq!(
            g.check_syntax("gopher://x/"),
            Err(SsrfError::Scheme("gopher".into()))
        );
        assert!(matches!(
            g.check_syntax("http://[::1]:8080/a.mp3"),
            Err(SsrfError::Refused { .. })
        ));
        assert!(
            matches!(
                g.check_syntax("http://2130706433/"),
                Err(SsrfError::Refused { .. })
            ),
            "a decimal IPv4 literal is still loopback"
        );
        assert_eq!(g.check_syntax("not a url"), Err(SsrfError::BadUrl));
        assert_eq!(
            g.check_syntax(&format!("https://a.example/{}", "x".repeat(URL_MAX))),
            Err(SsrfError::TooLong)
        );
        assert!(g.check_syntax("https://cdn.example.com/a.mp3").is_ok());
    }

    #[test]
    fn trusted_addresses_are_exact() {
        let g = Guard::default().trusting([ip("127.0.0.1")]);
        assert!(g.check_syntax("http://127.0.0.1:9/a.wav").is_ok());
        assert!(g.check_syntax("http://127.0.0.2:9/a.wav").is_err());
        assert!(g.check_syntax("http://[::ffff:127.0.0.1]:9/a.wav").is_ok());
    }
}
