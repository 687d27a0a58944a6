//! The HTTP client for team callback URLs: no redirects, a time limit, and, unless private networks are allowed,
//! only public addresses. The check runs on the addresses a name resolves to, so a name that points inward is
//! refused as surely as a literal private address.

use crate::catalog::{is_private_host, is_private_ip};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::time::Duration;

/// Resolves names with the system resolver, keeping only the addresses the policy allows.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> =
                found.into_iter().filter(|address| allow_private || !is_private_ip(address.ip())).collect();
            if allowed.is_empty() {
                return Err(format!("{} resolves only to private or loopback addresses", name.as_str()).into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A client for callback URLs.
pub fn callback_client(timeout: Duration, allow_private: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .dns_resolver(std::sync::Arc::new(GuardedResolver { allow_private }))
        .build()
        .expect("the HTTP client builds")
}

/// Refuses a URL whose host is a literal private or loopback address, which no resolver sees, or `localhost`.
pub fn check_literal_host(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    let private = match url.host() {
        Some(host) => is_private_host(&host),
        None => return Err(format!("{url} has no host")),
    };
    if private && !allow_private {
        return Err(format!("{url} names a private or loopback address"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn private_destinations_are_refused_unless_allowed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buffer = [0u8; 1024];
                    let _ = socket.read(&mut buffer).await;
                    let _ = socket.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
                });
            }
        });
        let by_name = format!("http://localhost:{port}/hook");
        let guarded = callback_client(Duration::from_secs(5), false);
        let refused = guarded.post(&by_name).send().await.unwrap_err();
        assert!(refused.is_connect() || refused.is_request(), "{refused:?}");
        let open = callback_client(Duration::from_secs(5), true);
        assert_eq!(open.post(&by_name).send().await.unwrap().status(), 204);
        let literal = reqwest::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        assert!(check_literal_host(&literal, false).is_err());
        assert!(check_literal_host(&literal, true).is_ok());
        assert!(check_literal_host(&reqwest::Url::parse("https://[::ffff:10.0.0.1]/").unwrap(), false).is_err());
        assert!(check_literal_host(&reqwest::Url::parse("https://example.com/").unwrap(), false).is_ok());
    }
}
