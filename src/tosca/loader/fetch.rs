//! Fetching files over http(s), for imports, repositories and entries given as URLs.
//!
//! TOSCA lets an import name a network-accessible file, so the loader must be able to read
//! one; but a template must never be able to hang or exhaust the processor, so every fetch has
//! a deadline and a size limit ([`FetchLimits`]) and anything short of a complete `2xx` answer
//! is an error that says what went wrong (no such host, connection refused, the status, the
//! deadline, the size). Each URL is fetched at most once per load: the answer (or the error)
//! is kept, so a file imported from many places, or looked at twice while resolving an
//! import, costs one request. Redirects are followed; the file keeps the URL it was asked by.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::io::ErrorKind;
use std::time::Duration;

/// The bounds on each fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchLimits {
    /// How long one fetch may take in all, from resolving the host to the last byte
    /// (redirects included), so an unresponsive server cannot stall a load.
    pub timeout: Duration,
    /// The largest file accepted (after decompression), so a hostile server cannot exhaust
    /// memory. TOSCA files are small; a CSAR may be larger, so this is generous.
    pub max_bytes: u64,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            timeout: Duration::from_secs(30),
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Why a URL could not be fetched. Each message names the URL and says what to check.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum FetchError {
    /// The host name did not resolve to any address.
    #[error(
        "cannot fetch {url}: the host name {host} cannot be resolved ({reason}); check the name and the network"
    )]
    HostNotFound {
        /// The URL asked for.
        url: String,
        /// The host name, as written in the URL.
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// Nothing listens at the address and port.
    #[error("cannot fetch {url}: the connection was refused (no server is listening there)")]
    Refused {
        /// The URL asked for.
        url: String,
    },
    /// The server answered with something other than success.
    #[error("cannot fetch {url}: the server answered HTTP {status}{reason}")]
    Status {
        /// The URL asked for.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The status's standard reason phrase, with a leading space, or empty.
        reason: String,
    },
    /// The fetch did not complete within [`FetchLimits::timeout`].
    #[error("cannot fetch {url}: no complete answer within {seconds} s")]
    Timeout {
        /// The URL asked for.
        url: String,
        /// The deadline, in seconds.
        seconds: f64,
    },
    /// The body is larger than [`FetchLimits::max_bytes`].
    #[error("cannot fetch {url}: it is larger than {}", size(*limit))]
    TooLarge {
        /// The URL asked for.
        url: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Anything else: a reset connection, a TLS failure, a malformed answer, too many
    /// redirects.
    #[error("cannot fetch {url}: {reason}")]
    Failed {
        /// The URL asked for.
        url: String,
        /// What the HTTP client said.
        reason: String,
    },
}

/// Fetches URLs within [`FetchLimits`], each once.
#[derive(Default)]
pub struct Fetcher {
    limits: FetchLimits,
    /// Built on first use, so loads that fetch nothing do not set up TLS.
    agent: OnceCell<ureq::Agent>,
    /// Every answer so far, by URL.
    fetched: RefCell<HashMap<String, Result<Vec<u8>, FetchError>>>,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("limits", &self.limits)
            .field("fetched", &self.fetched.borrow().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Fetcher {
    /// A fetcher bounded by `limits`.
    pub fn new(limits: FetchLimits) -> Fetcher {
        Fetcher {
            limits,
            ..Fetcher::default()
        }
    }

    /// The body of `url`, fetched now or remembered from an earlier call.
    pub fn fetch(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        if let Some(answer) = self.fetched.borrow().get(url) {
            return answer.clone();
        }
        let answer = self.get(url);
        match &answer {
            Ok(body) => tracing::debug!(url, bytes = body.len(), "fetched"),
            Err(e) => tracing::debug!(url, error = %e, "fetch failed"),
        }
        self.fetched
            .borrow_mut()
            .insert(url.to_string(), answer.clone());
        answer
    }

    /// Downloads `url` into `to` a piece at a time (never held in memory), within the limits;
    /// the number of bytes written. Not remembered: the caller keeps the file.
    pub fn download(&self, url: &str, to: &mut impl std::io::Write) -> Result<u64, FetchError> {
        let mut response = self.answer(url)?;
        let mut body = response
            .body_mut()
            .with_config()
            .limit(self.limits.max_bytes)
            .reader();
        std::io::copy(&mut body, to).map_err(|e| match e.downcast::<ureq::Error>() {
            Ok(error) => self.explain(url, error),
            Err(e) => FetchError::Failed {
                url: url.to_string(),
                reason: e.to_string(),
            },
        })
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let mut response = self.answer(url)?;
        response
            .body_mut()
            .with_config()
            .limit(self.limits.max_bytes)
            .read_to_vec()
            .map_err(|e| self.explain(url, e))
    }

    /// The server's successful answer to a GET of `url`, its body not yet read; refused
    /// when it says it is larger than the limit.
    fn answer(&self, url: &str) -> Result<ureq::http::Response<ureq::Body>, FetchError> {
        let agent = self.agent.get_or_init(|| {
            ureq::Agent::config_builder()
                .timeout_global(Some(self.limits.timeout))
                .http_status_as_error(false)
                .user_agent(concat!("khutulun/", env!("CARGO_PKG_VERSION")))
                .build()
                .new_agent()
        });
        let limit = self.limits.max_bytes;
        let response = agent.get(url).call().map_err(|e| self.explain(url, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                reason: status
                    .canonical_reason()
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default(),
            });
        }
        if response.body().content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        Ok(response)
    }

    /// Turns the HTTP client's error into one that says what to check.
    fn explain(&self, url: &str, error: ureq::Error) -> FetchError {
        let host = host_of(url).to_string();
        let url = url.to_string();
        match error {
            ureq::Error::HostNotFound => FetchError::HostNotFound {
                url,
                host,
                reason: "no address found".into(),
            },
            // The standard library's wording for a failed getaddrinfo, which ureq passes on
            // as a plain I/O error.
            ureq::Error::Io(e) if e.to_string().starts_with("failed to lookup address") => {
                FetchError::HostNotFound {
                    url,
                    host,
                    reason: e.to_string(),
                }
            }
            ureq::Error::Timeout(_) => FetchError::Timeout {
                url,
                seconds: self.limits.timeout.as_secs_f64(),
            },
            ureq::Error::Io(e) if e.kind() == ErrorKind::TimedOut => FetchError::Timeout {
                url,
                seconds: self.limits.timeout.as_secs_f64(),
            },
            ureq::Error::BodyExceedsLimit(limit) => FetchError::TooLarge { url, limit },
            ureq::Error::Io(e) if e.kind() == ErrorKind::ConnectionRefused => {
                FetchError::Refused { url }
            }
            // rustls reports a failed handshake or a corrupt record as invalid data.
            ureq::Error::Io(e)
                if e.kind() == ErrorKind::InvalidData && url.starts_with("https:") =>
            {
                FetchError::Failed {
                    url,
                    reason: format!("the TLS connection failed ({e})"),
                }
            }
            ureq::Error::Rustls(e) => FetchError::Failed {
                url,
                reason: format!("the TLS connection failed ({e})"),
            },
            ureq::Error::Io(e) => FetchError::Failed {
                url,
                reason: e.to_string(),
            },
            other => FetchError::Failed {
                url,
                reason: other.to_string(),
            },
        }
    }
}

/// A byte count for people: whole MiB when it is one.
fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The host of a URL (`h` in `http://user@h:8/x`), for messages.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_and_port = authority.rsplit('@').next().unwrap_or_default();
    match host_and_port.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => host_and_port,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tosca::loader::test_server::TestServer;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn fetches_each_url_once() {
        let server = TestServer::start();
        server.put("a/b.yaml", "hello\n");
        let fetcher = Fetcher::default();
        let url = server.url("/a/b.yaml");
        assert_eq!(fetcher.fetch(&url).unwrap(), b"hello\n");
        assert_eq!(fetcher.fetch(&url).unwrap(), b"hello\n");
        assert_eq!(server.requests("/a/b.yaml"), 1);
    }

    #[test]
    fn a_missing_file_gives_its_status() {
        let server = TestServer::start();
        let url = server.url("/nope.yaml");
        let error = Fetcher::default().fetch(&url).unwrap_err();
        assert!(
            matches!(&error, FetchError::Status { status: 404, .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("cannot fetch {url}: the server answered HTTP 404 Not Found")
        );
    }

    #[test]
    fn a_closed_port_is_refused() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/a.yaml");
        let error = Fetcher::default().fetch(&url).unwrap_err();
        assert_eq!(error, FetchError::Refused { url }, "{error}");
        assert!(error.to_string().contains("connection was refused"));
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/a.yaml", listener.local_addr().unwrap());
        // Accepts connections and never answers them.
        std::thread::spawn(move || {
            let open: Vec<_> = listener.incoming().collect();
            drop(open);
        });
        let fetcher = Fetcher::new(FetchLimits {
            timeout: Duration::from_millis(300),
            ..FetchLimits::default()
        });
        let error = fetcher.fetch(&url).unwrap_err();
        assert!(matches!(error, FetchError::Timeout { .. }), "{error:?}");
        assert!(error.to_string().contains("within 0.3 s"), "{error}");
    }

    #[test]
    fn a_large_file_is_refused() {
        let server = TestServer::start();
        server.put("big.yaml", "x".repeat(100));
        server.put("small.yaml", "x".repeat(10));
        let fetcher = Fetcher::new(FetchLimits {
            max_bytes: 10,
            ..FetchLimits::default()
        });
        assert_eq!(fetcher.fetch(&server.url("/small.yaml")).unwrap().len(), 10);
        let error = fetcher.fetch(&server.url("/big.yaml")).unwrap_err();
        assert!(
            matches!(error, FetchError::TooLarge { limit: 10, .. }),
            "{error:?}"
        );
        assert!(
            error.to_string().ends_with("larger than 10 bytes"),
            "{error}"
        );
        assert_eq!(size(16 * 1024 * 1024), "16 MiB");
    }

    #[test]
    fn an_unknown_host_is_an_error_not_a_hang() {
        let error = Fetcher::default()
            .fetch("http://no-such-host.invalid/a.yaml")
            .unwrap_err();
        assert!(
            matches!(error, FetchError::HostNotFound { .. }),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("the host name no-such-host.invalid cannot be resolved"),
            "{error}"
        );
    }

    #[test]
    fn https_to_a_plain_http_server_fails_in_the_handshake() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}/a.yaml", listener.local_addr().unwrap());
        // Answers in plain HTTP at once, whatever the client sends.
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
            }
        });
        let error = Fetcher::default().fetch(&url).unwrap_err();
        assert!(matches!(error, FetchError::Failed { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot fetch {url}: the TLS connection failed")),
            "{error}"
        );
    }

    #[test]
    fn names_the_host_of_a_url() {
        assert_eq!(host_of("http://user@h:8/x"), "h");
        assert_eq!(host_of("https://example.com?q"), "example.com");
        assert_eq!(host_of("http://[::1]:80/x"), "[::1]");
    }
}
