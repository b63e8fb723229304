//! The interactive OAuth flows of `model_signing::sigstore::oidc` against a mock OpenID Connect
//! issuer on loopback: discovery, authorization code + PKCE with the loopback redirect (the test
//! plays the browser), the out-of-band code, the fallback when no browser opens, client secrets
//! (HTTP Basic and form), issuer errors, expired tokens and wrong audiences, and the Google Cloud
//! metadata server. Everything stays on 127.0.0.1.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use model_signing::sigstore::oidc::{
    self, AuthMode, IdentityToken, Interaction, OAuthSettings, OidcError, TokenRequest,
    OOB_REDIRECT_URI,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server and client over std (one request per connection, Connection: close)
// ---------------------------------------------------------------------------------------------

/// A parsed request.
#[derive(Debug, Clone, Default)]
struct Req {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    form: HashMap<String, String>,
}

/// A response: status line, headers, body.
struct Resp {
    status: &'static str,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn json(v: serde_json::Value) -> Resp {
        Resp {
            status: "200 OK",
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: v.to_string(),
        }
    }
    fn status(status: &'static str, body: &str) -> Resp {
        Resp {
            status,
            headers: vec![],
            body: body.to_string(),
        }
    }
}

fn parse_pairs(s: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

fn read_request(stream: &mut TcpStream) -> Option<Req> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), parse_pairs(q)),
        None => (target.clone(), HashMap::new()),
    };
    let form = parse_pairs(&String::from_utf8_lossy(&body));
    Some(Req {
        method,
        path,
        query,
        headers,
        form,
    })
}

fn write_response(stream: &mut TcpStream, r: Resp) {
    let mut out = format!(
        "HTTP/1.1 {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        r.body.len()
    );
    for (k, v) in r.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&r.body);
    let _ = stream.write_all(out.as_bytes());
}

/// Serves `handler` on 127.0.0.1:<random> in a background thread; returns the base URL.
fn serve<F>(handler: F) -> String
where
    F: Fn(&Req) -> Resp + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            if let Some(req) = read_request(&mut stream) {
                let resp = handler(&req);
                write_response(&mut stream, resp);
            }
        }
    });
    url
}

/// `GET url` over plain HTTP; returns (status code, headers, body).
fn http_get(url: &str) -> (u16, HashMap<String, String>, String) {
    let u = url::Url::parse(url).unwrap();
    let addr = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap());
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let target = match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    };
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        u.host_str().unwrap()
    )
    .unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

// ---------------------------------------------------------------------------------------------
// The mock issuer
// ---------------------------------------------------------------------------------------------

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn unsigned_jwt(claims: &serde_json::Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// How the mock issuer behaves.
#[derive(Clone)]
struct IssuerConfig {
    /// `token_endpoint_auth_methods_supported` (None: not advertised).
    auth_methods: Option<Vec<&'static str>>,
    /// The secret the token endpoint requires (None: public client).
    secret: Option<&'static str>,
    /// Claims of the issued token, on top of iss/sub/email/iat; `aud` defaults to the client id.
    aud: Option<&'static str>,
    /// `exp` relative to now.
    exp_in: i64,
    /// Redirect with `error=access_denied` instead of a code.
    deny: bool,
    /// Redirect with a wrong `state`.
    wrong_state: bool,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        IssuerConfig {
            auth_methods: None,
            secret: None,
            aud: None,
            exp_in: 600,
            deny: false,
            wrong_state: false,
        }
    }
}

/// A mock issuer and what it has seen.
struct Issuer {
    url: String,
    /// Token requests received.
    token_requests: Arc<Mutex<Vec<Req>>>,
    /// Authorization requests received.
    auth_requests: Arc<Mutex<Vec<Req>>>,
}

const EMAIL: &str = "alice@example.test";

/// What the issuer remembers about a code: (PKCE challenge, client id, redirect URI, nonce).
type Grant = (String, String, String, String);

fn start_issuer(cfg: IssuerConfig) -> Issuer {
    let token_requests = Arc::new(Mutex::new(Vec::new()));
    let auth_requests = Arc::new(Mutex::new(Vec::new()));
    let codes: Arc<Mutex<HashMap<String, Grant>>> = Arc::default();
    let base = Arc::new(Mutex::new(String::new()));
    let (tr, ar, b) = (token_requests.clone(), auth_requests.clone(), base.clone());
    let url = serve(move |req| {
        let base = b.lock().unwrap().clone();
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/.well-known/openid-configuration") => {
                let mut doc = serde_json::json!({
                    "issuer": base,
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                    "jwks_uri": format!("{base}/jwks"),
                });
                if let Some(m) = &cfg.auth_methods {
                    doc["token_endpoint_auth_methods_supported"] = serde_json::json!(m);
                }
                Resp::json(doc)
            }
            ("GET", "/authorize") => {
                ar.lock().unwrap().push(req.clone());
                let q = &req.query;
                let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
                let code = format!("code-{}", codes.lock().unwrap().len());
                codes.lock().unwrap().insert(
                    code.clone(),
                    (
                        q.get("code_challenge").cloned().unwrap_or_default(),
                        q.get("client_id").cloned().unwrap_or_default(),
                        redirect.clone(),
                        q.get("nonce").cloned().unwrap_or_default(),
                    ),
                );
                if redirect == OOB_REDIRECT_URI {
                    return Resp::status("200 OK", &format!("Your code: {code}"));
                }
                let state = if cfg.wrong_state {
                    "forged".to_string()
                } else {
                    q.get("state").cloned().unwrap_or_default()
                };
                let location = if cfg.deny {
                    format!("{redirect}?error=access_denied&error_description=user+said+no&state={state}")
                } else {
                    format!("{redirect}?code={code}&state={state}")
                };
                Resp {
                    status: "302 Found",
                    headers: vec![("Location".into(), location)],
                    body: String::new(),
                }
            }
            ("POST", "/token") => {
                tr.lock().unwrap().push(req.clone());
                let f = &req.form;
                let Some((challenge, client_id, redirect, nonce)) =
                    f.get("code").and_then(|c| codes.lock().unwrap().remove(c))
                else {
                    return Resp::status(
                        "400 Bad Request",
                        r#"{"error":"invalid_grant","error_description":"unknown code"}"#,
                    );
                };
                let verifier = f.get("code_verifier").cloned().unwrap_or_default();
                if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge
                    || f.get("redirect_uri") != Some(&redirect)
                    || f.get("client_id") != Some(&client_id)
                    || f.get("grant_type").map(String::as_str) != Some("authorization_code")
                {
                    return Resp::status("400 Bad Request", r#"{"error":"invalid_grant"}"#);
                }
                if let Some(secret) = cfg.secret {
                    // HTTP Basic carries the form-encoded id and secret (RFC 6749 2.3.1).
                    let basic = req
                        .headers
                        .get("authorization")
                        .and_then(|h| h.strip_prefix("Basic "))
                        .and_then(|b| {
                            let raw = String::from_utf8(STANDARD.decode(b).ok()?).ok()?;
                            let (id, secret) = raw.split_once(':')?;
                            let dec = |v: &str| {
                                parse_pairs(&format!("v={v}"))
                                    .remove("v")
                                    .unwrap_or_default()
                            };
                            Some((dec(id), dec(secret)))
                        });
                    let ok = basic == Some((client_id.clone(), secret.to_string()))
                        || f.get("client_secret").map(String::as_str) == Some(secret);
                    if !ok {
                        return Resp::status("401 Unauthorized", r#"{"error":"invalid_client"}"#);
                    }
                }
                let t = now();
                let token = unsigned_jwt(&serde_json::json!({
                    "iss": base, "sub": "alice", "email": EMAIL, "aud": cfg.aud.unwrap_or(&client_id),
                    "iat": t, "exp": t + cfg.exp_in, "nonce": nonce,
                }));
                Resp::json(
                    serde_json::json!({"access_token": "at", "token_type": "Bearer", "id_token": token}),
                )
            }
            _ => Resp::status("404 Not Found", "not found"),
        }
    });
    *base.lock().unwrap() = url.clone();
    Issuer {
        url,
        token_requests,
        auth_requests,
    }
}

// ---------------------------------------------------------------------------------------------
// Scripted users
// ---------------------------------------------------------------------------------------------

/// Plays the browser: follows the authorization URL to the issuer, then its redirect to our
/// loopback listener, in a thread (a real browser does not block the caller either).
#[derive(Default)]
struct Browser {
    /// Status of the listener's answer to the redirect.
    callback_status: Arc<Mutex<Option<u16>>>,
    shown: Mutex<Vec<(String, AuthMode)>>,
}

impl Interaction for Browser {
    fn open_browser(&self, url: &str) -> bool {
        let url = url.to_string();
        let status = self.callback_status.clone();
        std::thread::spawn(move || {
            let (code, headers, _) = http_get(&url);
            assert_eq!(code, 302, "the issuer should redirect");
            let location = headers.get("location").expect("a Location header").clone();
            assert!(location.starts_with("http://127.0.0.1:"), "{location}");
            let (code, _, _) = http_get(&location);
            *status.lock().unwrap() = Some(code);
        });
        true
    }
    fn show_url(&self, url: &str, mode: AuthMode) {
        self.shown.lock().unwrap().push((url.to_string(), mode));
    }
    fn read_code(&self) -> std::io::Result<String> {
        panic!("the browser flow must not ask for a code")
    }
}

/// Plays the out-of-band user: opens the shown URL by hand and types the code back. Optionally
/// has no browser at all.
#[derive(Default)]
struct OobUser {
    browser_works: bool,
    shown: Mutex<Vec<(String, AuthMode)>>,
    opened: Mutex<usize>,
}

impl Interaction for OobUser {
    fn open_browser(&self, _url: &str) -> bool {
        *self.opened.lock().unwrap() += 1;
        self.browser_works
    }
    fn show_url(&self, url: &str, mode: AuthMode) {
        self.shown.lock().unwrap().push((url.to_string(), mode));
    }
    fn read_code(&self) -> std::io::Result<String> {
        let (url, mode) = self
            .shown
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a URL was shown before the prompt");
        assert_eq!(mode, AuthMode::OutOfBand);
        let (status, _, body) = http_get(&url);
        assert_eq!(status, 200, "{body}");
        // Users paste with stray whitespace.
        Ok(format!("  {}\n", body.trim_start_matches("Your code: ")))
    }
}

fn settings(issuer: &Issuer) -> OAuthSettings {
    let mut s = OAuthSettings::new(issuer.url.clone());
    s.callback_timeout = Duration::from_secs(20);
    s
}

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn discovery() {
    let issuer = start_issuer(IssuerConfig {
        auth_methods: Some(vec!["client_secret_post"]),
        ..Default::default()
    });
    let meta = oidc::discover(&issuer.url).unwrap();
    assert_eq!(meta.issuer, issuer.url);
    assert_eq!(
        meta.authorization_endpoint,
        format!("{}/authorize", issuer.url)
    );
    assert_eq!(meta.token_endpoint, format!("{}/token", issuer.url));
    assert_eq!(
        meta.token_endpoint_auth_methods_supported,
        ["client_secret_post"]
    );
    // A trailing slash on the issuer is tolerated.
    assert_eq!(oidc::discover(&format!("{}/", issuer.url)).unwrap(), meta);

    // No discovery document: a one-line error naming the URL.
    let nothing = serve(|_| Resp::status("404 Not Found", "no"));
    let e = oidc::discover(&nothing).unwrap_err().to_string();
    assert!(
        e.contains("OIDC discovery")
            && e.contains("/.well-known/openid-configuration")
            && e.contains("404"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    // A document without the endpoints.
    let empty = serve(|_| Resp::json(serde_json::json!({"issuer": "x"})));
    let e = oidc::discover(&empty).unwrap_err().to_string();
    assert!(e.contains("invalid document"), "{e}");
    // Nothing listening.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let e = oidc::discover(&closed).unwrap_err().to_string();
    assert!(e.contains("OIDC discovery") && e.contains("onnect"), "{e}");
    // Plain HTTP is for loopback only.
    let e = oidc::discover("http://issuer.example")
        .unwrap_err()
        .to_string();
    assert!(e.contains("must be an https URL"), "{e}");
}

#[test]
fn browser_flow_with_pkce_and_loopback_redirect() {
    let issuer = start_issuer(IssuerConfig::default());
    let browser = Browser::default();
    let token = oidc::interactive_login(&settings(&issuer), &browser).unwrap();
    assert_eq!(token.identity(), EMAIL);
    assert_eq!(token.issuer(), issuer.url);
    assert_eq!(token.audiences(), ["sigstore"]);
    // The browser thread records the listener's answer after the login may already be done.
    let status = (0..200).find_map(|_| {
        let s = *browser.callback_status.lock().unwrap();
        s.or_else(|| {
            std::thread::sleep(Duration::from_millis(50));
            None
        })
    });
    assert_eq!(status, Some(200), "the listener answers the browser");

    let shown = browser.shown.lock().unwrap().clone();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].1, AuthMode::Browser);
    let q = query_of(&shown[0].0);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "sigstore");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["scope"], "openid email");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(!q["state"].is_empty() && !q["nonce"].is_empty());
    let redirect = &q["redirect_uri"];
    assert!(
        redirect.starts_with("http://127.0.0.1:") && redirect.ends_with("/callback"),
        "{redirect}"
    );

    let reqs = issuer.token_requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1);
    let f = &reqs[0].form;
    assert_eq!(&f["redirect_uri"], redirect);
    assert_eq!(f["client_id"], "sigstore");
    assert!(!f.contains_key("client_secret"));
    assert!(
        !reqs[0].headers.contains_key("authorization"),
        "a public client sends no credentials"
    );
}

#[test]
fn out_of_band_flow_reads_the_code() {
    let issuer = start_issuer(IssuerConfig::default());
    let user = OobUser {
        browser_works: true,
        ..Default::default()
    };
    let mut s = settings(&issuer);
    s.force_oob = true;
    let token = oidc::interactive_login(&s, &user).unwrap();
    assert_eq!(token.identity(), EMAIL);
    assert_eq!(
        *user.opened.lock().unwrap(),
        0,
        "--oauth-force-oob must not open a browser"
    );
    let shown = user.shown.lock().unwrap().clone();
    assert_eq!(shown.len(), 1);
    assert_eq!(query_of(&shown[0].0)["redirect_uri"], OOB_REDIRECT_URI);
    let reqs = issuer.token_requests.lock().unwrap().clone();
    assert_eq!(reqs[0].form["redirect_uri"], OOB_REDIRECT_URI);
    assert_eq!(reqs[0].form["code"], "code-0", "the pasted code is trimmed");
}

#[test]
fn no_browser_falls_back_to_out_of_band() {
    let issuer = start_issuer(IssuerConfig::default());
    let user = OobUser {
        browser_works: false,
        ..Default::default()
    };
    let token = oidc::interactive_login(&settings(&issuer), &user).unwrap();
    assert_eq!(token.identity(), EMAIL);
    assert_eq!(*user.opened.lock().unwrap(), 1);
    let shown = user.shown.lock().unwrap().clone();
    assert_eq!(shown.len(), 1, "only the out-of-band URL is shown");
    assert_eq!(query_of(&shown[0].0)["redirect_uri"], OOB_REDIRECT_URI);
}

#[test]
fn client_secret_basic_by_default() {
    let issuer = start_issuer(IssuerConfig {
        secret: Some("s3cr:et"),
        ..Default::default()
    });
    let mut s = settings(&issuer)
        .with_client_id("my-client")
        .with_client_secret("s3cr:et");
    s.force_oob = true;
    let token = oidc::interactive_login(&s, &OobUser::default()).unwrap();
    assert_eq!(token.audiences(), ["my-client"]);
    let reqs = issuer.token_requests.lock().unwrap().clone();
    let auth = reqs[0]
        .headers
        .get("authorization")
        .expect("HTTP Basic credentials");
    let decoded =
        String::from_utf8(STANDARD.decode(auth.trim_start_matches("Basic ")).unwrap()).unwrap();
    // RFC 6749 2.3.1: id and secret are form-encoded before base64 (':' -> %3A).
    assert_eq!(decoded, "my-client:s3cr%3Aet");
    assert!(!reqs[0].form.contains_key("client_secret"));
    assert_eq!(reqs[0].form["client_id"], "my-client");
    assert_eq!(
        query_of(&issuer.auth_requests.lock().unwrap()[0].path_and_query())["client_id"],
        "my-client"
    );
}

#[test]
fn client_secret_post_when_advertised() {
    let issuer = start_issuer(IssuerConfig {
        secret: Some("topsecret"),
        auth_methods: Some(vec!["client_secret_post"]),
        ..Default::default()
    });
    let s = settings(&issuer)
        .with_client_secret("topsecret")
        .with_force_oob(true);
    oidc::interactive_login(&s, &OobUser::default()).unwrap();
    let reqs = issuer.token_requests.lock().unwrap().clone();
    assert_eq!(reqs[0].form["client_secret"], "topsecret");
    assert!(!reqs[0].headers.contains_key("authorization"));

    // A wrong secret is refused by the issuer, and the error says so on one line.
    let s = settings(&issuer)
        .with_client_secret("wrong")
        .with_force_oob(true);
    let e = oidc::interactive_login(&s, &OobUser::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("OAuth token request") && e.contains("401") && e.contains("invalid_client"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn expired_and_wrong_audience_tokens_are_refused() {
    let issuer = start_issuer(IssuerConfig {
        exp_in: -30,
        ..Default::default()
    });
    let e = oidc::interactive_login(&settings(&issuer).with_force_oob(true), &OobUser::default())
        .unwrap_err();
    assert!(matches!(e, OidcError::Expired { .. }), "{e}");
    assert!(e.to_string().contains("expired"), "{e}");

    let issuer = start_issuer(IssuerConfig {
        aud: Some("someone-else"),
        ..Default::default()
    });
    let e = oidc::interactive_login(&settings(&issuer).with_force_oob(true), &OobUser::default())
        .unwrap_err();
    assert!(matches!(e, OidcError::Audience { .. }), "{e}");
    assert!(
        e.to_string().contains("'someone-else', not 'sigstore'"),
        "{e}"
    );
}

#[test]
fn issuer_errors_and_forged_redirects() {
    let issuer = start_issuer(IssuerConfig {
        deny: true,
        ..Default::default()
    });
    let e = oidc::interactive_login(&settings(&issuer), &Browser::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("access_denied") && e.contains("user said no"),
        "{e}"
    );

    // A redirect with another state is not this login's: it is ignored (the real one may still
    // come), so the login ends by timing out, saying why.
    let issuer = start_issuer(IssuerConfig {
        wrong_state: true,
        ..Default::default()
    });
    let browser = Browser::default();
    let mut s = settings(&issuer);
    s.callback_timeout = Duration::from_secs(2);
    let e = oidc::interactive_login(&s, &browser)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no browser redirect within") && e.contains("ignored 1 redirect"),
        "{e}"
    );
    assert!(
        issuer.token_requests.lock().unwrap().is_empty(),
        "a forged redirect's code is never exchanged"
    );
    assert_eq!(*browser.callback_status.lock().unwrap(), Some(400));

    // An unknown code: the issuer's error and description come through.
    struct BadCode;
    impl Interaction for BadCode {
        fn open_browser(&self, _: &str) -> bool {
            false
        }
        fn show_url(&self, _: &str, _: AuthMode) {}
        fn read_code(&self) -> std::io::Result<String> {
            Ok("not-a-code".into())
        }
    }
    let issuer = start_issuer(IssuerConfig::default());
    let e = oidc::interactive_login(&settings(&issuer), &BadCode)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("400") && e.contains("invalid_grant: unknown code"),
        "{e}"
    );
}

#[test]
fn callback_timeout() {
    struct Silent;
    impl Interaction for Silent {
        fn open_browser(&self, _: &str) -> bool {
            true
        }
        fn show_url(&self, _: &str, _: AuthMode) {}
        fn read_code(&self) -> std::io::Result<String> {
            unreachable!()
        }
    }
    let issuer = start_issuer(IssuerConfig::default());
    let mut s = settings(&issuer);
    s.callback_timeout = Duration::from_millis(300);
    let e = oidc::interactive_login(&s, &Silent)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no browser redirect within"), "{e}");
}

#[test]
fn listener_ignores_stray_requests() {
    // A browser that first asks for /favicon.ico, then follows the redirect.
    #[derive(Default)]
    struct Noisy(Arc<Mutex<Vec<u16>>>);
    impl Interaction for Noisy {
        fn open_browser(&self, url: &str) -> bool {
            let url = url.to_string();
            let seen = self.0.clone();
            std::thread::spawn(move || {
                let (_, headers, _) = http_get(&url);
                let location = headers["location"].clone();
                let base = location.split("/callback").next().unwrap().to_string();
                seen.lock()
                    .unwrap()
                    .push(http_get(&format!("{base}/favicon.ico")).0);
                seen.lock().unwrap().push(http_get(&location).0);
            });
            true
        }
        fn show_url(&self, _: &str, _: AuthMode) {}
        fn read_code(&self) -> std::io::Result<String> {
            unreachable!()
        }
    }
    let issuer = start_issuer(IssuerConfig::default());
    let noisy = Noisy::default();
    oidc::interactive_login(&settings(&issuer), &noisy).unwrap();
    // The second status is recorded by the browser thread, possibly after the login returned.
    for _ in 0..200 {
        if noisy.0.lock().unwrap().len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(*noisy.0.lock().unwrap(), [404, 200]);
}

#[test]
fn explicit_tokens_win_and_are_checked() {
    let t = now();
    let good = unsigned_jwt(
        &serde_json::json!({"iss": "https://i", "sub": "s", "aud": "sigstore", "exp": t + 60}),
    );
    // The issuer URL is never contacted when a token is given.
    let req = TokenRequest::new(OAuthSettings::new("http://127.0.0.1:9"))
        .with_explicit(Some(good.clone()));
    let tok = oidc::obtain_token(&req, &OobUser::default()).unwrap();
    assert_eq!(tok.expose(), good);

    let expired = unsigned_jwt(
        &serde_json::json!({"iss": "https://i", "sub": "s", "aud": "sigstore", "exp": t - 5}),
    );
    let req =
        TokenRequest::new(OAuthSettings::new("http://127.0.0.1:9")).with_explicit(Some(expired));
    assert!(matches!(
        oidc::obtain_token(&req, &OobUser::default()),
        Err(OidcError::Expired { .. })
    ));

    let other = unsigned_jwt(
        &serde_json::json!({"iss": "https://i", "sub": "s", "aud": "x", "exp": t + 60}),
    );
    let req = TokenRequest::new(OAuthSettings::new("")).with_explicit(Some(other.clone()));
    assert!(matches!(
        oidc::obtain_token(&req, &OobUser::default()),
        Err(OidcError::Audience { .. })
    ));
    // --client-id x makes it acceptable.
    let req =
        TokenRequest::new(OAuthSettings::new("").with_client_id("x")).with_explicit(Some(other));
    assert!(oidc::obtain_token(&req, &OobUser::default()).is_ok());

    // No token and no issuer: a clear error rather than a login against nothing.
    let e = oidc::obtain_token(
        &TokenRequest::new(OAuthSettings::new("")),
        &OobUser::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("no OIDC issuer"), "{e}");
}

#[test]
fn gcp_metadata_server() {
    let t = now();
    let jwt = unsigned_jwt(&serde_json::json!({
        "iss": "https://accounts.google.com", "sub": "1234", "aud": "sigstore",
        "email": "sa@project.iam.gserviceaccount.com", "exp": t + 3600
    }));
    let seen = Arc::new(Mutex::new(Vec::<Req>::new()));
    let s2 = seen.clone();
    let body = jwt.clone();
    let base = serve(move |req| {
        s2.lock().unwrap().push(req.clone());
        if req.headers.get("metadata-flavor").map(String::as_str) != Some("Google") {
            return Resp::status("403 Forbidden", "missing Metadata-Flavor");
        }
        if req.path != "/computeMetadata/v1/instance/service-accounts/default/identity" {
            return Resp::status("404 Not Found", "");
        }
        Resp::status("200 OK", &body)
    });
    let tok = oidc::gcp_identity_token(&base, "sigstore").unwrap();
    assert_eq!(tok.identity(), "sa@project.iam.gserviceaccount.com");
    assert_eq!(tok.issuer(), "https://accounts.google.com");
    let req = seen.lock().unwrap()[0].clone();
    assert_eq!(req.query["audience"], "sigstore");
    assert_eq!(req.query["format"], "full");

    // A metadata server that refuses: one line naming it.
    let refusing = serve(|_| Resp::status("404 Not Found", ""));
    let e = oidc::gcp_identity_token(&refusing, "sigstore")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Google Cloud metadata server") && e.contains("404"),
        "{e}"
    );
}

#[test]
fn token_parsing_is_strict() {
    assert!(matches!(
        IdentityToken::parse("a.b.c"),
        Err(OidcError::Malformed(_))
    ));
    let t = IdentityToken::parse(&unsigned_jwt(&serde_json::json!({
        "iss": "https://i", "sub": "s", "aud": ["a", "sigstore"], "exp": 4_000_000_000_i64
    })))
    .unwrap();
    assert!(t.validate("sigstore").is_ok());
    assert!(t.validate("b").is_err());
}

/// Path plus query of a recorded request, as a URL (for `query_of`).
trait PathAndQuery {
    fn path_and_query(&self) -> String;
}

impl PathAndQuery for Req {
    fn path_and_query(&self) -> String {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.query.iter())
            .finish();
        format!("http://127.0.0.1{}?{q}", self.path)
    }
}

// ---------------------------------------------------------------------------------------------
// Security review findings 5 and 6
// ---------------------------------------------------------------------------------------------

/// Plays a browser whose page (or another local process) found the listener's port: before the
/// real redirect arrives it sends callbacks with a wrong or missing `state`, error ones included.
#[derive(Default)]
struct ForgingBrowser {
    /// The listener's answers, forged callbacks first, the real redirect last.
    statuses: Arc<Mutex<Vec<u16>>>,
}

impl Interaction for ForgingBrowser {
    fn open_browser(&self, url: &str) -> bool {
        let url = url.to_string();
        let seen = self.statuses.clone();
        std::thread::spawn(move || {
            let (_, headers, _) = http_get(&url);
            let location = headers["location"].clone();
            let base = location.split('?').next().unwrap().to_string();
            for forged in [
                "error=access_denied&error_description=forged&state=wrong",
                "error=access_denied&error_description=no+state",
                "error=access_denied&state=",
                "code=stolen&state=wrong",
                "code=stolen",
            ] {
                let status = http_get(&format!("{base}?{forged}")).0;
                seen.lock().unwrap().push(status);
            }
            let status = http_get(&location).0;
            seen.lock().unwrap().push(status);
        });
        true
    }
    fn show_url(&self, _: &str, _: AuthMode) {}
    fn read_code(&self) -> std::io::Result<String> {
        unreachable!()
    }
}

#[test]
fn callbacks_with_a_wrong_or_missing_state_are_ignored() {
    let issuer = start_issuer(IssuerConfig::default());
    let browser = ForgingBrowser::default();
    let token = oidc::interactive_login(&settings(&issuer), &browser).unwrap();
    assert_eq!(token.identity(), EMAIL);
    for _ in 0..200 {
        if browser.statuses.lock().unwrap().len() == 6 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        *browser.statuses.lock().unwrap(),
        [400, 400, 400, 400, 400, 200],
        "forged callbacks get an error page; the real redirect completes the login"
    );
    let reqs = issuer.token_requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1, "only the real code is exchanged");
    assert_eq!(reqs[0].form["code"], "code-0");
}

/// Plays a browser that the issuer sends back with an error for this login (right `state`).
struct ErrorRedirect {
    error: String,
    description: Option<String>,
}

impl Interaction for ErrorRedirect {
    fn open_browser(&self, url: &str) -> bool {
        let q = query_of(url);
        let mut target = url::Url::parse(&q["redirect_uri"]).unwrap();
        {
            let mut pairs = target.query_pairs_mut();
            pairs.append_pair("error", &self.error);
            if let Some(d) = &self.description {
                pairs.append_pair("error_description", d);
            }
            pairs.append_pair("state", &q["state"]);
        }
        std::thread::spawn(move || {
            http_get(target.as_str());
        });
        true
    }
    fn show_url(&self, _: &str, _: AuthMode) {}
    fn read_code(&self) -> std::io::Result<String> {
        unreachable!()
    }
}

/// No control character (C0, DEL, C1, line and paragraph separators) in `s`.
fn assert_printable(s: &str) {
    assert!(
        !s.chars().any(|c| c < ' '
            || ('\u{7f}'..='\u{9f}').contains(&c)
            || c == '\u{2028}'
            || c == '\u{2029}'),
        "{s:?}"
    );
}

#[test]
fn issuer_error_text_is_escaped_on_one_line_and_bounded() {
    let issuer = start_issuer(IssuerConfig::default());
    let e = oidc::interactive_login(
        &settings(&issuer),
        &ErrorRedirect {
            error: "access_denied\u{9b}2J".into(),
            description: Some(
                "\x1b[31mred\r\nFAKE: Signing succeeded\u{2028}\u{85}\x07\x7f end".into(),
            ),
        },
    )
    .unwrap_err();
    assert!(matches!(e, OidcError::OAuth(_)), "{e:?}");
    let e = e.to_string();
    assert_printable(&e);
    assert!(e.contains("the issuer refused the authorization"), "{e}");
    assert!(e.contains(r"access_denied\u{9b}2J"), "{e}");
    assert!(
        e.contains(r"\u{1b}[31mred\r\nFAKE: Signing succeeded"),
        "{e}"
    );
    assert!(e.contains(r"\u{2028}\u{85}\u{7}\u{7f} end"), "{e}");

    // A huge description is cut.
    let e = oidc::interactive_login(
        &settings(&issuer),
        &ErrorRedirect {
            // Within the listener's 8 KiB request limit.
            error: "x".repeat(1000),
            description: Some("\n".repeat(1000)),
        },
    )
    .unwrap_err()
    .to_string();
    assert_printable(&e);
    assert!(e.chars().count() < 600, "{} chars: {e}", e.chars().count());
    assert!(e.contains("xxx..."), "{e}");
    assert!(e.contains(r"\n\n\n..."), "{e}");
    assert!(issuer.token_requests.lock().unwrap().is_empty());
}

#[test]
fn token_endpoint_errors_are_escaped() {
    // An issuer whose token endpoint answers with terminal escapes, JSON or not.
    for body in [
        r#"{"error":"invalid_grant\u001b[2J","error_description":"bad\r\nFAKE"}"#.to_string(),
        format!("\x1b[2Jnot json\r\nFAKE{}", "y".repeat(5000)),
    ] {
        let base = Arc::new(Mutex::new(String::new()));
        let b = base.clone();
        let url = serve(move |req| {
            let base = b.lock().unwrap().clone();
            match req.path.as_str() {
                "/.well-known/openid-configuration" => Resp::json(serde_json::json!({
                    "issuer": base,
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                })),
                _ => Resp::status("400 Bad Request", &body),
            }
        });
        *base.lock().unwrap() = url.clone();
        struct Typist;
        impl Interaction for Typist {
            fn open_browser(&self, _: &str) -> bool {
                false
            }
            fn show_url(&self, _: &str, _: AuthMode) {}
            fn read_code(&self) -> std::io::Result<String> {
                Ok("c".into())
            }
        }
        let mut s = OAuthSettings::new(url);
        s.force_oob = true;
        let e = oidc::interactive_login(&s, &Typist)
            .unwrap_err()
            .to_string();
        assert_printable(&e);
        assert!(e.contains("FAKE") && e.contains(r"\r\n"), "{e}");
        assert!(e.chars().count() < 600, "{e}");
    }
}

fn token_with_exp(exp: &str) -> String {
    let claims = format!(r#"{{"iss":"https://i","sub":"s","aud":"sigstore","exp":{exp}}}"#);
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

#[test]
fn absurd_exp_values_are_clear_errors() {
    for exp in [
        i64::MIN.to_string(),
        (i64::MIN + 1).to_string(),
        i64::MAX.to_string(),
        u64::MAX.to_string(),
        "1e300".into(),
        "-1e300".into(),
        "-1".into(),
        "-0.5".into(),
        "253402207201".into(), // past the largest time the Sigstore client can represent
        "253402300800".into(), // 10000-01-01T00:00:00Z
        "2000000000.5".into(), // the Sigstore client needs whole seconds
        "2000000000.0".into(),
        "9.3e18".into(),
        r#""NaN""#.into(),
        r#""Infinity""#.into(),
        r#""-Infinity""#.into(),
        r#""2000000000""#.into(),
        "null".into(),
        "[1]".into(),
        "true".into(),
    ] {
        let e = IdentityToken::parse(&token_with_exp(&exp)).unwrap_err();
        assert!(matches!(e, OidcError::Malformed(_)), "{exp}: {e:?}");
        let e = e.to_string();
        assert!(e.contains("'exp'"), "{exp}: {e}");
        assert_printable(&e);
    }
    // Beyond f64: the JSON reader itself refuses the claims.
    let e = IdentityToken::parse(&token_with_exp("1e400")).unwrap_err();
    assert!(
        matches!(&e, OidcError::Malformed(m) if m.contains("number out of range")),
        "{e:?}"
    );
    // The edges of the accepted range, checked at both ends of time without overflow.
    for exp in ["0", "1", "2000000000", "253402207200"] {
        let t = IdentityToken::parse(&token_with_exp(exp)).unwrap();
        for now in [i64::MIN, -1, 0, 1_000_000_000, i64::MAX - 1, i64::MAX] {
            let _ = t.validate_at("sigstore", now).map_err(|e| e.to_string());
            for needed in [Duration::ZERO, Duration::from_secs(60), Duration::MAX] {
                let _ = t.check_fresh_at(now, needed).map_err(|e| e.to_string());
            }
        }
        let e = t.check_expiry_at(i64::MAX).unwrap_err();
        assert!(matches!(e, OidcError::Expired { .. }), "{e}");
        assert!(t.check_fresh_at(i64::MIN, Duration::MAX).is_ok(), "{exp}");
    }
}

#[test]
fn tokens_expiring_before_signing_can_finish_are_refused() {
    let t = IdentityToken::parse(&token_with_exp("2000000000")).unwrap();
    // Plenty of time.
    assert!(t
        .check_fresh_at(1_999_990_000, Duration::from_secs(60))
        .is_ok());
    // Expired: says when.
    let e = t
        .check_fresh_at(2_000_000_030, Duration::from_secs(60))
        .unwrap_err();
    assert!(matches!(e, OidcError::Expired { .. }), "{e:?}");
    let e = e.to_string();
    assert!(
        e.contains("expired at 2033-05-18T03:33:20Z") && e.contains("30 s ago"),
        "{e}"
    );
    // Valid now, but not for long enough: says when it expires and what was needed.
    let e = t
        .check_fresh_at(1_999_999_990, Duration::from_secs(60))
        .unwrap_err();
    assert!(matches!(e, OidcError::ExpiresTooSoon { .. }), "{e:?}");
    let e = e.to_string();
    assert!(
        e.contains("expires at 2033-05-18T03:33:20Z")
            && e.contains("in 10 s")
            && e.contains("60 s"),
        "{e}"
    );
    // The margin is inclusive of its end: a token must outlive it.
    assert!(t
        .check_fresh_at(1_999_999_940, Duration::from_secs(60))
        .is_err());
    assert!(t
        .check_fresh_at(1_999_999_939, Duration::from_secs(60))
        .is_ok());
    // The estimate grows with the model and never overflows.
    assert!(oidc::signing_time_estimate(0) >= oidc::SIGNING_MARGIN);
    assert!(oidc::signing_time_estimate(1 << 40) > oidc::signing_time_estimate(1 << 30));
    let _ = t.check_fresh_at(0, oidc::signing_time_estimate(u64::MAX));
    // With the clock: a token valid for an hour passes, one valid for a few seconds does not.
    let soon = IdentityToken::parse(&token_with_exp(&(now() + 5).to_string())).unwrap();
    assert!(matches!(
        soon.check_fresh(oidc::SIGNING_MARGIN),
        Err(OidcError::ExpiresTooSoon { .. })
    ));
    let later = IdentityToken::parse(&token_with_exp(&(now() + 3600).to_string())).unwrap();
    assert!(later.check_fresh(oidc::SIGNING_MARGIN).is_ok());
}

/// A listener standing in for every Sigstore service; counts the connections it receives.
fn counting_service() -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(Mutex::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            *c.lock().unwrap() += 1;
            drop(stream);
        }
    });
    (url, count)
}

#[test]
fn expired_and_soon_expiring_tokens_are_refused_before_any_request() {
    use model_signing::sigstore::sign::{self, KeylessError, KeylessServices};
    let (url, count) = counting_service();
    let services = KeylessServices {
        fulcio_url: url.clone(),
        rekor_url: url.clone(),
        rekor_version: 1,
        tsa_url: Some(url),
        oidc_issuer: None,
        allow_insecure_services: false,
    };
    for (exp_in, expired) in [(-30, true), (0, true), (5, false)] {
        let token = IdentityToken::parse(&token_with_exp(&(now() + exp_in).to_string())).unwrap();
        let e = sign::sign_statement(b"{}", &services, &token).unwrap_err();
        match (&e, expired) {
            (KeylessError::Token(OidcError::Expired { .. }), true)
            | (KeylessError::Token(OidcError::ExpiresTooSoon { .. }), false) => {}
            _ => panic!("exp in {exp_in} s: {e:?}"),
        }
        assert!(e.to_string().contains("identity token"), "{e}");
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(*count.lock().unwrap(), 0, "no service was contacted");
}

fn signing_config(
    fulcio: &str,
    rekor: &str,
    tsa: Option<&str>,
    oidc: Option<&str>,
) -> model_signing::sigstore::trust::SigningConfig {
    let svc = |url: &str| {
        serde_json::json!({"url": url, "majorApiVersion": 1, "operator": "op",
            "validFor": {"start": "2020-01-01T00:00:00Z"}})
    };
    let json = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [svc(fulcio)],
        "oidcUrls": oidc.map(|o| vec![svc(o)]).unwrap_or_default(),
        "rekorTlogUrls": [svc(rekor)],
        "tsaUrls": tsa.map(|t| vec![svc(t)]).unwrap_or_default(),
        "rekorTlogConfig": {"selector": "ANY"},
        "tsaConfig": {"selector": "ANY"},
    });
    model_signing::sigstore::trust::SigningConfig {
        config: sigstore_sign::trust_root::SigningConfig::from_json(&json.to_string()).unwrap(),
        json,
        source: model_signing::sigstore::trust::TrustSource::TrustConfigFile("tc.json".into()),
    }
}

#[test]
fn signing_config_services_must_be_https_or_loopback() {
    use model_signing::sigstore::sign::{KeylessError, KeylessServices, ServiceOptions};
    let secure = "https://secure.example.com";
    let strict = ServiceOptions::default();
    let insecure = ServiceOptions {
        allow_insecure_services: true,
    };
    // Everything https, or plain http to loopback (the mock Sigstore stack of the CLI tests).
    for (f, r, t, o) in [
        (secure, secure, Some(secure), Some(secure)),
        (
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8081/",
            Some("http://localhost:8082/api/v1/timestamp"),
            Some("http://[::1]:5556/auth"),
        ),
        ("http://127.1.2.3", "http://LOCALHOST", None, None),
    ] {
        let s = KeylessServices::from_signing_config(&signing_config(f, r, t, o))
            .unwrap_or_else(|e| panic!("{f} {r} {t:?} {o:?}: {e}"));
        assert!(!s.allow_insecure_services);
    }
    // Plain http to anything else: refused, naming the service and the URL.
    for (cfg, service, url) in [
        (
            signing_config("http://fulcio.example.com", secure, None, None),
            "Fulcio",
            "http://fulcio.example.com",
        ),
        (
            signing_config(secure, "http://rekor.example.com", None, None),
            "Rekor",
            "http://rekor.example.com",
        ),
        (
            signing_config(
                secure,
                secure,
                Some("http://10.0.0.1/api/v1/timestamp"),
                None,
            ),
            "TSA",
            "http://10.0.0.1/api/v1/timestamp",
        ),
        (
            signing_config(secure, secure, None, Some("http://oidc.example.com")),
            "OIDC",
            "http://oidc.example.com",
        ),
        (
            signing_config("http://localhost.example.com", secure, None, None),
            "Fulcio",
            "http://localhost.example.com",
        ),
        (
            signing_config("http://[::ffff:10.0.0.1]", secure, None, None),
            "Fulcio",
            "http://[::ffff:10.0.0.1]",
        ),
    ] {
        let e = KeylessServices::from_signing_config_with(&cfg, &strict).unwrap_err();
        assert!(
            matches!(&e, KeylessError::InsecureService { service: s, .. } if *s == service),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains(service) && msg.contains(url) && msg.contains("https"),
            "{msg}"
        );
        assert!(
            !msg.contains("--"),
            "no CLI flag in a library message: {msg}"
        );
        // The same with the default entry point.
        assert!(KeylessServices::from_signing_config(&cfg).is_err());
        // Accepted when insecure services are explicitly allowed (private test stacks).
        let s = KeylessServices::from_signing_config_with(&cfg, &insecure).unwrap();
        assert!(s.allow_insecure_services);
    }
    // Other schemes are never accepted.
    for bad in ["ftp://127.0.0.1/", "file:///tmp/fulcio"] {
        let cfg = signing_config(bad, secure, None, None);
        assert!(
            KeylessServices::from_signing_config_with(&cfg, &insecure).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn sign_statement_refuses_insecure_services_before_sending_the_token() {
    use model_signing::sigstore::sign::{self, KeylessError, KeylessServices};
    // Services built by hand get the same check: the token never goes out over plain http.
    let token = IdentityToken::parse(&token_with_exp(&(now() + 3600).to_string())).unwrap();
    let services = KeylessServices {
        fulcio_url: "http://fulcio.invalid".into(),
        rekor_url: "https://rekor.invalid".into(),
        rekor_version: 1,
        tsa_url: None,
        oidc_issuer: None,
        allow_insecure_services: false,
    };
    let e = sign::sign_statement(b"{}", &services, &token).unwrap_err();
    assert!(
        matches!(
            &e,
            KeylessError::InsecureService {
                service: "Fulcio",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn oauth_endpoints_follow_the_same_rule() {
    // An issuer on loopback whose discovery document names remote plain-http endpoints.
    let url = serve(|_| {
        Resp::json(serde_json::json!({
            "issuer": "x",
            "authorization_endpoint": "http://auth.example.com/authorize",
            "token_endpoint": "http://token.example.com/token",
        }))
    });
    struct GivesUp;
    impl Interaction for GivesUp {
        fn open_browser(&self, _: &str) -> bool {
            false
        }
        fn show_url(&self, _: &str, _: AuthMode) {}
        fn read_code(&self) -> std::io::Result<String> {
            Err(std::io::Error::other("gave up"))
        }
    }
    let e = oidc::interactive_login(&OAuthSettings::new(url.clone()), &GivesUp)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("must be an https URL") && e.contains("http://auth.example.com/authorize"),
        "{e}"
    );
    // Allowed explicitly: the flow goes on (to the code prompt here).
    let e = oidc::interactive_login(
        &OAuthSettings::new(url).with_allow_insecure_services(true),
        &GivesUp,
    )
    .unwrap_err();
    assert!(matches!(e, OidcError::Io { .. }), "{e:?}");
}
