//! Turning a failed HTTP exchange into one line a person can act on: the URL is unreachable
//! (and why), the credentials were refused (and which scheme the agent asked for), or the
//! endpoint is not an AdCP agent (and where one usually is).

use std::time::Duration;

use adcp_conformance::Protocol;
use adcp_conformance::probe::HttpObservation;

use crate::error::CliError;
use crate::output::{one_line, truncate};

/// Checks an exchange whose JSON-RPC answer is `answered`. `Ok(())` when the answer can be
/// used; otherwise the error that explains why not. `had_credentials` says whether the
/// request carried an `Authorization` header.
///
/// A 401 is always an error (whatever body came with it); a 403 is one only when no
/// JSON-RPC answer explains it; a transport failure is retried once with a plain GET to find
/// its root cause.
pub(crate) async fn check(
    http: &reqwest::Client,
    observation: &HttpObservation,
    answered: bool,
    had_credentials: bool,
    protocol: Protocol,
) -> Result<(), CliError> {
    let url = observation.url.clone();
    match observation.status {
        401 => Err(unauthorized(url, observation, had_credentials)),
        403 if !answered => Err(CliError::Forbidden { url }),
        0 => Err(unreachable(http, &url, observation.error.as_deref()).await),
        _ if answered => Ok(()),
        status => Err(not_an_agent(url, status, observation, protocol)),
    }
}

/// The 401 error: the scheme the agent asked for, from its `WWW-Authenticate` challenge.
pub(crate) fn unauthorized(
    url: String,
    observation: &HttpObservation,
    had_credentials: bool,
) -> CliError {
    let challenge = observation
        .headers
        .get("www-authenticate")
        .map(|c| truncate(&one_line(c), 200));
    let advice = match (challenge, had_credentials) {
        (Some(challenge), true) => format!(
            "the credentials were refused; it asks for {} (WWW-Authenticate: {challenge}); check the token given with --auth",
            scheme_of(&challenge)
        ),
        (Some(challenge), false) => format!(
            "it asks for {} credentials (WWW-Authenticate: {challenge}); pass --auth TOKEN or set ADCP_AUTH_TOKEN",
            scheme_of(&challenge)
        ),
        (None, true) => {
            "the credentials were refused (no WWW-Authenticate challenge came back); check the token given with --auth".to_owned()
        }
        (None, false) => {
            "it wants credentials (no WWW-Authenticate challenge came back); pass --auth TOKEN or set ADCP_AUTH_TOKEN".to_owned()
        }
    };
    CliError::Unauthorized { url, advice }
}

/// The auth scheme of a challenge (`Bearer realm="x"` → `Bearer`).
fn scheme_of(challenge: &str) -> &str {
    challenge
        .split([' ', ','])
        .find(|s| !s.is_empty())
        .unwrap_or(challenge)
}

/// The error for an HTTP answer with no JSON-RPC message in it.
fn not_an_agent(
    url: String,
    status: u16,
    observation: &HttpObservation,
    protocol: Protocol,
) -> CliError {
    let body = observation
        .body
        .as_ref()
        .map(|b| match b {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default();
    let snippet = truncate(&one_line(&body), 120);
    if status >= 500 {
        return CliError::Agent {
            url,
            detail: format!("the agent failed with HTTP {status}: {snippet}"),
        };
    }
    let where_agents_are = match protocol {
        Protocol::A2a => "an A2A agent's JSON-RPC endpoint is usually …/a2a",
        _ => "an MCP agent's endpoint is usually …/mcp (use --protocol a2a for …/a2a)",
    };
    let html = observation
        .headers
        .get("content-type")
        .is_some_and(|t| t.contains("text/html"));
    let detail = match status {
        404 => format!("HTTP 404 at this path; {where_agents_are}"),
        405 => format!("HTTP 405: it does not take JSON-RPC POSTs here; {where_agents_are}"),
        _ if html => {
            format!("it answered HTTP {status} with an HTML page, not JSON-RPC; {where_agents_are}")
        }
        _ if snippet.is_empty() => {
            format!("it answered HTTP {status} with no JSON-RPC message; {where_agents_are}")
        }
        _ => format!("it answered HTTP {status} with no JSON-RPC message ({snippet})"),
    };
    CliError::NotAdcp { url, detail }
}

/// The error for a URL that gave no HTTP answer, with the root cause found by one plain GET.
pub(crate) async fn unreachable(
    http: &reqwest::Client,
    url: &str,
    observed: Option<&str>,
) -> CliError {
    let cause = match http.get(url).send().await {
        Err(error) => explain_transport(&error),
        // It answered this time: report what the original exchange saw.
        Ok(_) => observed.map_or_else(|| "the connection failed".to_owned(), one_line),
    };
    CliError::Unreachable {
        url: url.to_owned(),
        cause,
    }
}

/// A transport error's innermost cause in plain words.
pub(crate) fn explain_transport(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer before the timeout (--timeout SECONDS raises it)".to_owned();
    }
    let mut current: &(dyn std::error::Error + 'static) = error;
    let mut innermost = error.to_string();
    while let Some(next) = current.source() {
        if let Some(io) = next.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    return "connection refused (nothing is listening there; is the agent running?)"
                        .to_owned();
                }
                std::io::ErrorKind::TimedOut => return "the connection timed out".to_owned(),
                _ => {}
            }
        }
        innermost = next.to_string();
        current = next;
    }
    if innermost.contains("dns error") || innermost.contains("lookup address") {
        return format!("the host name does not resolve ({innermost})");
    }
    innermost
}

/// Builds the HTTP client every command shares: `timeout` per request, no redirects followed
/// (an agent that redirects its endpoint is reported, not silently followed), `headers` on
/// every request.
pub(crate) fn http_client(
    timeout: Duration,
    headers: reqwest::header::HeaderMap,
) -> Result<reqwest::Client, CliError> {
    adcp_conformance::install_tls_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .map_err(|e| CliError::Usage(format!("cannot build the HTTP client: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observation(status: u16, headers: &[(&str, &str)], body: &str) -> HttpObservation {
        HttpObservation {
            url: "http://127.0.0.1:1/mcp".into(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: (!body.is_empty()).then(|| serde_json::Value::String(body.into())),
            error: None,
        }
    }

    #[test]
    fn a_401_names_the_scheme_asked_for() {
        let seen = observation(
            401,
            &[(
                "www-authenticate",
                "Bearer realm=\"adcp\", error=\"invalid_token\"",
            )],
            "",
        );
        let message = unauthorized("u".into(), &seen, false).to_string();
        assert!(message.contains("asks for Bearer credentials"), "{message}");
        assert!(message.contains("--auth TOKEN"), "{message}");
        let refused = unauthorized("u".into(), &seen, true).to_string();
        assert!(refused.contains("were refused"), "{refused}");
    }

    #[test]
    fn non_agents_are_told_apart_from_failing_agents() {
        let html = observation(200, &[("content-type", "text/html")], "<html>");
        let message = not_an_agent("u".into(), 200, &html, Protocol::Mcp).to_string();
        assert!(message.contains("is not an AdCP agent"), "{message}");
        assert!(message.contains("HTML page"), "{message}");
        let missing = not_an_agent("u".into(), 404, &html, Protocol::A2a).to_string();
        assert!(missing.contains("…/a2a"), "{missing}");
        let broken = not_an_agent("u".into(), 502, &html, Protocol::Mcp).to_string();
        assert!(broken.contains("failed with HTTP 502"), "{broken}");
    }
}
