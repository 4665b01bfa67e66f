//! `http:` and `https:` URLs, split into the two parts a location needs: the origin (which
//! server) and the path on it.
//!
//! The split is what lets a file fetched over the network take part in import resolution like
//! any other: relative imports join onto the path, and `../` stops at the server's root, as
//! RFC 3986 resolution does. Spelling differences that name the same resource (an upper-case
//! scheme or host, the default port, `.` and `..` segments) are normalized away so one file
//! is fetched once per load; the fragment names a part of a document, not a document, and is
//! dropped. Percent-escapes are kept as written: they are sent to the server unchanged.

/// A parsed `http:`/`https:` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebUrl {
    /// `scheme://authority`, lowercased, without the default port.
    pub origin: String,
    /// The normalized path, starting with `/`, followed by the query (`?…`) if there is one.
    pub path: String,
}

/// Whether a scheme (already lowercased) is one this loader fetches over the network.
pub fn is_web_scheme(scheme: &str) -> bool {
    scheme == "http" || scheme == "https"
}

/// Parses an `http:` or `https:` URL; the error is a sentence saying what is wrong.
pub fn parse(url: &str) -> Result<WebUrl, String> {
    let (scheme, rest) = url
        .split_once(':')
        .ok_or_else(|| format!("\"{url}\" is not a URL"))?;
    let scheme = scheme.to_ascii_lowercase();
    let Some(rest) = rest.strip_prefix("//") else {
        return Err(format!(
            "the URL \"{url}\" has no host; write {scheme}://host/path"
        ));
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    let authority = normalize_authority(authority, &scheme);
    if authority.is_empty() || authority.ends_with('@') {
        return Err(format!(
            "the URL \"{url}\" has no host; write {scheme}://host/path"
        ));
    }
    let (path, query) = match path_and_query.find('?') {
        Some(i) => path_and_query.split_at(i),
        None => (path_and_query, ""),
    };
    Ok(WebUrl {
        origin: format!("{scheme}://{authority}"),
        path: format!("{}{query}", normalize_path(path)),
    })
}

/// Lowercases the host (user information, if any, keeps its case) and drops the scheme's
/// default port.
fn normalize_authority(authority: &str, scheme: &str) -> String {
    let (user, host_and_port) = match authority.rfind('@') {
        Some(i) => authority.split_at(i + 1),
        None => ("", authority),
    };
    let mut host_and_port = host_and_port.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    if let Some(host) = host_and_port.strip_suffix(default_port)
        && !host.ends_with(':')
    {
        host_and_port = host.to_string();
    }
    format!("{user}{host_and_port}")
}

/// Removes `.` and `..` segments (a `..` at the root stays at the root) and empty segments.
fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Splits a reference written inside a web document into its path and its query (`?…`, or
/// empty), dropping any fragment, so that joining touches only the path.
pub fn split_query(reference: &str) -> (&str, &str) {
    let reference = reference.split('#').next().unwrap_or_default();
    match reference.find('?') {
        Some(i) => reference.split_at(i),
        None => (reference, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> (String, String) {
        let web = parse(url).unwrap();
        (web.origin, web.path)
    }

    #[test]
    fn splits_origin_and_path() {
        assert_eq!(
            parsed("https://example.com/a/b.yaml"),
            ("https://example.com".into(), "/a/b.yaml".into())
        );
        assert_eq!(
            parsed("http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080".into(), "/".into())
        );
        assert_eq!(
            parsed("http://h/x.yaml?ref=main#types"),
            ("http://h".into(), "/x.yaml?ref=main".into())
        );
    }

    #[test]
    fn normalizes_spellings_of_the_same_resource() {
        assert_eq!(
            parsed("HTTPS://Example.COM:443/a/./b/../c.yaml"),
            ("https://example.com".into(), "/a/c.yaml".into())
        );
        assert_eq!(parsed("http://h:80/../x").0, "http://h");
        assert_eq!(parsed("http://h:8080/x").0, "http://h:8080");
        assert_eq!(parsed("https://h:80/x").0, "https://h:80");
        assert_eq!(parsed("http://User@H/x").0, "http://User@h");
    }

    #[test]
    fn a_url_needs_a_host() {
        for url in [
            "https:/a.yaml",
            "https:a.yaml",
            "http:///a.yaml",
            "http://u@/a",
        ] {
            let error = parse(url).unwrap_err();
            assert!(error.contains("has no host"), "{url}: {error}");
        }
    }

    #[test]
    fn splits_references_at_the_query() {
        assert_eq!(split_query("a/b.yaml?x=1/2#f"), ("a/b.yaml", "?x=1/2"));
        assert_eq!(split_query("../c.yaml"), ("../c.yaml", ""));
    }
}
