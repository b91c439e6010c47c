//! Where deliveries may go (the SSRF guard): never a private, loopback,
//! link-local, shared, documentation, multicast or cloud-metadata address, checked when an
//! endpoint is registered and again on every send, after DNS resolution, by the resolver
//! the HTTP client connects through (so a name cannot be re-pointed between check and use).
//! Local development opts out with `HOOKHUB_ALLOW_PRIVATE_TARGETS=true`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    pub allow_private: bool,
    pub allow_http: bool,
}

impl TargetPolicy {
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            allow_private: config.allow_private_targets,
            allow_http: config.allow_private_targets || config.local_mode,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("must be an absolute http(s) URL")]
    NotUrl,
    #[error("must use https")]
    NotHttps,
    #[error("must not contain credentials")]
    Credentials,
    #[error("must have a host name")]
    NoHost,
    #[error("resolves to a private, loopback, link-local or metadata address ({0})")]
    Private(IpAddr),
}

fn v4_is_public(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // includes 169.254.169.254, the instance metadata service
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 240) // reserved
}

fn v4_of(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8)
}

fn v6_is_public(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_is_public(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return v4_is_public(v4_of(s[6], s[7]));
    }
    // 6to4 (2002::/16) carries one in its second and third groups.
    if s[0] == 0x2002 {
        return v4_is_public(v4_of(s[1], s[2]));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local, includes fd00:ec2::254 (metadata)
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated, still routed by some networks)
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64 (64:ff9b:1::/48)
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0]) // discard-only
        || (s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments, Teredo among them
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0))
    // IPv4-compatible
}

pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_public(v4),
        IpAddr::V6(v6) => v6_is_public(v6),
    }
}

/// Checks what can be checked without DNS: scheme, credentials, host, IP literals.
pub fn check_url(raw: &str, policy: TargetPolicy) -> Result<Url, TargetError> {
    let url = Url::parse(raw).map_err(|_| TargetError::NotUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => return Err(TargetError::NotHttps),
        _ => return Err(TargetError::NotUrl),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::Credentials);
    }
    let host = url.host().ok_or(TargetError::NoHost)?;
    if !policy.allow_private {
        let literal = match host {
            url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            url::Host::Domain(d)
                if d.eq_ignore_ascii_case("localhost")
                    || d.to_ascii_lowercase().ends_with(".localhost") =>
            {
                Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
            }
            url::Host::Domain(_) => None,
        };
        if let Some(ip) = literal.filter(|ip| !is_public(*ip)) {
            return Err(TargetError::Private(ip));
        }
    }
    Ok(url)
}

/// Registration-time check including DNS: a name that resolves to a private address is
/// refused; a name that does not resolve yet is accepted and checked again at send time.
pub async fn check_registration(raw: &str, policy: TargetPolicy) -> Result<Url, TargetError> {
    let url = check_url(raw, policy)?;
    if policy.allow_private {
        return Ok(url);
    }
    if let Some(url::Host::Domain(host)) = url.host() {
        check_resolved(host, url.port_or_known_default().unwrap_or(443), policy).await?;
    }
    Ok(url)
}

/// Resolves `host` and refuses it if any address is not public (unless allowed).
pub async fn check_resolved(
    host: &str,
    port: u16,
    policy: TargetPolicy,
) -> Result<(), TargetError> {
    if policy.allow_private {
        return Ok(());
    }
    if let Ok(addrs) = tokio::net::lookup_host((host, port)).await {
        for addr in addrs {
            if !is_public(addr.ip()) {
                return Err(TargetError::Private(addr.ip()));
            }
        }
    }
    Ok(())
}

/// The resolver outbound HTTP connects through: system DNS, then every address checked.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .iter()
                .copied()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = match addrs.first() {
                    Some(a) => Box::new(TargetError::Private(a.ip())),
                    None => format!("{host} did not resolve").into(),
                };
                return Err(err);
            }
            let iter: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(iter)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: TargetPolicy = TargetPolicy {
        allow_private: false,
        allow_http: false,
    };

    #[test]
    fn private_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:1",
            "2002:a9fe:a9fe::",
            "2002:7f00:1::1",
            "fec0::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "100::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "2002:5db8:d822::1", // 6to4 of 93.184.216.34
            "2001:4860:4860::8888",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls() {
        assert!(check_url("https://example.com/hook", STRICT).is_ok());
        assert_eq!(
            check_url("http://example.com/hook", STRICT),
            Err(TargetError::NotHttps)
        );
        assert_eq!(
            check_url("https://u:p@example.com/", STRICT),
            Err(TargetError::Credentials)
        );
        assert!(matches!(
            check_url("https://127.0.0.1/", STRICT),
            Err(TargetError::Private(_))
        ));
        assert!(matches!(
            check_url("https://[::1]:8443/", STRICT),
            Err(TargetError::Private(_))
        ));
        assert!(matches!(
            check_url("https://169.254.169.254/latest/meta-data", STRICT),
            Err(TargetError::Private(_))
        ));
        assert!(matches!(
            check_url("https://localhost/", STRICT),
            Err(TargetError::Private(_))
        ));
        assert!(
            matches!(
                check_url("https://0x7f000001/", STRICT),
                Err(TargetError::Private(_))
            ),
            "hex IPv4 normalised by the URL parser"
        );
        assert_eq!(
            check_url("ftp://example.com", STRICT),
            Err(TargetError::NotUrl)
        );
        let local = TargetPolicy {
            allow_private: true,
            allow_http: true,
        };
        assert!(check_url("http://127.0.0.1:8080/hook", local).is_ok());
    }
}
