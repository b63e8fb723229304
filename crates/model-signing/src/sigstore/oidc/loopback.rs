//! The loopback redirect listener of the browser flow (`http://127.0.0.1:<port>/callback`).

use super::{display_untrusted, OidcError, Result, CONNECTION_TIMEOUT, MAX_REQUEST_HEAD};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;
use zeroize::Zeroizing;

/// What one connection to the listener was.
enum Callback {
    /// Not the callback (another path, a malformed or cut request): ignored.
    Other,
    /// A callback whose `state` is missing or is not this login's: not from the issuer's redirect
    /// for this login (a stale tab, or a local process or web page that found the port), so it is
    /// ignored whatever it says, errors included. The real redirect may still come.
    Foreign,
    /// This login's redirect: the code, or the issuer's refusal.
    Ours(Result<Zeroizing<String>>),
}

/// Accepts connections until one is this login's callback. Other requests (a favicon, a probe) get
/// a 404, callbacks with a wrong or missing state a 400 (counted in `ignored`), and are otherwise
/// ignored; a malformed or unanswered connection is dropped. Runs until the caller's timeout.
pub(super) async fn wait_for_code(
    listener: &TcpListener,
    state: &str,
    ignored: &std::cell::Cell<usize>,
) -> Result<Zeroizing<String>> {
    loop {
        let (stream, _) = listener.accept().await.map_err(|source| OidcError::Io {
            what: "cannot accept the browser connection",
            source,
        })?;
        match tokio::time::timeout(CONNECTION_TIMEOUT, handle_callback(stream, state)).await {
            Ok(Ok(Callback::Ours(result))) => return result,
            Ok(Ok(Callback::Foreign)) => {
                ignored.set(ignored.get().saturating_add(1));
                tracing::warn!(
                    "ignored a redirect to the login listener that is not for this login (wrong \
                     or missing state)"
                );
            }
            Ok(Ok(Callback::Other)) | Err(_) => {}
            Ok(Err(e)) => return Err(e),
        }
    }
}

const PAGE_OK: &str =
    "<!doctype html><title>model-signing</title><p>Authentication complete. You can close this \
                       window and return to the terminal.</p>";

const PAGE_FOREIGN: &str = "<!doctype html><title>model-signing</title><p>This is not the \
                            redirect of the login in progress; it was ignored.</p>";

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: \
         close\r\n\r\n{body}",
        body.len()
    );
    // The browser may already be gone; the code (or error) is what matters.
    let _ = stream.write_all(resp.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads one request and says what it was.
async fn handle_callback(mut stream: TcpStream, state: &str) -> Result<Callback> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|source| OidcError::Io {
                what: "cannot read the browser request",
                source,
            })?;
        if n == 0 || head.len() + n > MAX_REQUEST_HEAD {
            return Ok(Callback::Other);
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next().unwrap_or_default().split_whitespace();
    let (Some(method), Some(target)) = (request_line.next(), request_line.next()) else {
        return Ok(Callback::Other);
    };
    let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else {
        return Ok(Callback::Other);
    };
    if method != "GET" || url.path() != "/callback" {
        respond(&mut stream, "404 Not Found", "not found").await;
        return Ok(Callback::Other);
    }
    let (mut code, mut error, mut description) = (None, None, None);
    let mut states = Vec::new();
    for (k, v) in url.query_pairs() {
        match k.as_ref() {
            "code" => code = Some(Zeroizing::new(v.into_owned())),
            "state" => states.push(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    // The state is checked first, on every callback: only the issuer's redirect for this login
    // carries it, so nothing else (an error included) may end the login. Exactly one, equal.
    let ours = match states.as_slice() {
        [got] => {
            aws_lc_rs::constant_time::verify_slices_are_equal(got.as_bytes(), state.as_bytes())
                .is_ok()
        }
        _ => false,
    };
    if !ours {
        respond(&mut stream, "400 Bad Request", PAGE_FOREIGN).await;
        return Ok(Callback::Foreign);
    }
    let problem = if let Some(err) = error {
        // The issuer's words, but not its control characters.
        Some(match description {
            Some(d) => format!(
                "the issuer refused the authorization: {}: {}",
                display_untrusted(&err),
                display_untrusted(&d)
            ),
            None => format!(
                "the issuer refused the authorization: {}",
                display_untrusted(&err)
            ),
        })
    } else if code.as_ref().is_none_or(|c| c.is_empty()) {
        Some("the redirect carries no authorization code".to_string())
    } else {
        None
    };
    let (None, Some(code)) = (problem.as_ref(), code) else {
        respond(
            &mut stream,
            "400 Bad Request",
            "Authentication failed; see the terminal.",
        )
        .await;
        return Ok(Callback::Ours(Err(OidcError::OAuth(
            problem.unwrap_or_default(),
        ))));
    };
    respond(&mut stream, "200 OK", PAGE_OK).await;
    Ok(Callback::Ours(Ok(code)))
}
