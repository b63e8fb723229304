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

    let issuer = start_issuer(IssuerConfig {
        wrong_state: true,
        ..Default::default()
    });
    let browser = Browser::default();
    let e = oidc::interactive_login(&settings(&issuer), &browser)
        .unwrap_err()
        .to_string();
    assert!(e.contains("state does not match"), "{e}");
    assert!(
        issuer.token_requests.lock().unwrap().is_empty(),
        "a forged redirect's code is never exchanged"
    );

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
