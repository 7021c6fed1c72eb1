//! What the probe says to the store, in the dialect of each current InfluxDB.
//!
//! | API | write | read the latest back | create (only when asked) |
//! | --- | --- | --- | --- |
//! | v1 (1.x; the compatibility endpoints of 2.x and 3.x) | `POST /write?db=` | `GET /query?db=&q=SELECT last(seq) …` (InfluxQL) | `POST /query?q=CREATE DATABASE …` |
//! | v2 (2.x) | `POST /api/v2/write?org=&bucket=&precision=ns` | `POST /api/v2/query?org=` (Flux, annotated CSV back) | find the bucket, else the org's ID, then `POST /api/v2/buckets` |
//! | v3 (3 Core, Enterprise) | `POST /api/v3/write_lp?db=` | `GET /api/v3/query_sql?db=&q=SELECT seq …&format=json` | `POST /api/v3/configure/database` (409: already there) |
//!
//! Credentials: v1 a user and password (Basic) or a token (`Token`, as 2.x's and 3.x's v1
//! endpoints take); v2 `Authorization: Token …`; v3 `Authorization: Bearer …`. They go in
//! headers only, never in a URL, and no message repeats them.
//!
//! `auto` asks `GET /ping` (its `X-Influxdb-Version` header, else the JSON body's
//! `version`: 3.x answers with one; 3.x asks for the token first), then `GET /health`
//! (2.x's and 1.8's JSON `version`).

use std::time::Duration;

use base64::Engine as _;

/// Which HTTP API the store speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    V1,
    V2,
    V3,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::V1 => "v1",
            Api::V2 => "v2",
            Api::V3 => "v3",
        }
    }

    /// The API of a version string such as `1.6.7`, `v2.7.11` or `3.0.1`.
    fn of_version(version: &str) -> Option<Api> {
        match version
            .trim()
            .trim_start_matches(['v', 'V'])
            .split('.')
            .next()?
        {
            "1" => Some(Api::V1),
            "2" => Some(Api::V2),
            "3" => Some(Api::V3),
            _ => None,
        }
    }
}

/// How the probe proves who it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Auth {
    #[default]
    None,
    /// v1's user and password, sent as HTTP Basic.
    Basic {
        user: String,
        password: String,
    },
    Token(String),
}

impl Auth {
    /// The `Authorization` header for `api`, if any.
    fn header(&self, api: Option<Api>) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )),
            // 3.x takes `Bearer` on every endpoint and `Token` on its v1 and v2 ones; 2.x
            // takes `Token`. Before the API is known (`/ping`), `Token` is understood by all.
            Auth::Token(t) if api == Some(Api::V3) => Some(format!("Bearer {t}")),
            Auth::Token(t) => Some(format!("Token {t}")),
        }
    }

    /// The secrets no message may show.
    fn secrets(&self) -> Vec<&str> {
        match self {
            Auth::None => vec![],
            Auth::Basic { password, .. } => vec![password.as_str()],
            Auth::Token(t) => vec![t.as_str()],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One HTTP request, relative to the store's base URL.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub method: Method,
    /// From the base URL's end, e.g. `/api/v2/write`.
    pub path: &'static str,
    pub query: Vec<(&'static str, String)>,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Request {
    fn new(method: Method, path: &'static str) -> Self {
        Request {
            method,
            path,
            query: vec![],
            headers: vec![],
            body: String::new(),
        }
    }

    fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    fn header(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((key, value.into()));
        self
    }

    fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }
}

/// What came back: any status (a transport's `Err` is for no answer at all).
#[derive(Clone, Debug, Default)]
pub struct Reply {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body of a 2xx answer; otherwise the status and the start of what the server
    /// said (InfluxDB explains its errors in the body).
    fn success(self) -> Result<String, String> {
        if (200..300).contains(&self.status) {
            return Ok(self.body);
        }
        let why = if (300..400).contains(&self.status) {
            " (redirects are not followed)".to_string()
        } else {
            let said: String = self.body.trim().chars().take(160).collect();
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        };
        Err(format!("HTTP {}{why}", self.status))
    }
}

/// How requests reach the store: straight over HTTP ([`Http`]), or through the
/// Kubernetes API server's service proxy (`calibrate::k8s::ServiceProxy`).
pub trait Transport {
    /// Sends one request: `Ok` with whatever status came back, `Err` when none did.
    fn send(&self, request: &Request) -> Result<Reply, String>;
}

/// The store and what to say to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    /// `None`: ask the store (`auto`).
    pub api: Option<Api>,
    /// The database (v1, v3) or bucket (v2).
    pub db: String,
    /// v2's organisation, by name.
    pub org: Option<String>,
    pub auth: Auth,
    /// Create the database or bucket when missing; otherwise a missing one is a failure
    /// like any other.
    pub create: bool,
}

impl Store {
    /// A v1 store without credentials, creating `db`.
    pub fn v1(db: &str) -> Self {
        Store {
            api: Some(Api::V1),
            db: db.to_string(),
            org: None,
            auth: Auth::None,
            create: true,
        }
    }

    /// What cannot work whatever the store answers.
    pub fn check(&self) -> Result<(), String> {
        if self.db.is_empty() {
            return Err("the database (bucket) name is empty".into());
        }
        match (self.api, &self.auth) {
            (Some(Api::V2), _) if self.org.as_deref().is_none_or(str::is_empty) => {
                Err("the v2 API needs an organisation: --org (or INFLUX_ORG)".into())
            }
            (Some(Api::V2 | Api::V3), Auth::Basic { .. }) => Err(format!(
                "the {} API takes a token (--token or INFLUX_TOKEN), not a user and password",
                self.api.expect("matched").name()
            )),
            _ => Ok(()),
        }
    }

    /// The store with its API known: asked of the store when `auto`.
    pub fn resolved(&self, t: &dyn Transport) -> Result<Store, String> {
        let mut s = self.clone();
        if s.api.is_none() {
            s.api = Some(detect(t, &self.auth)?);
        }
        s.check()?;
        Ok(s)
    }

    fn api(&self) -> Api {
        self.api
            .expect("the API is resolved before requests are made")
    }

    fn authorised(&self, r: Request) -> Request {
        match self.auth.header(self.api) {
            Some(h) => r.header("Authorization", h),
            None => r,
        }
    }

    fn org(&self) -> String {
        self.org.clone().unwrap_or_default()
    }

    /// The secrets no message may show.
    pub fn secrets(&self) -> Vec<&str> {
        self.auth.secrets()
    }

    /// Creates the database or bucket unless it is there.
    pub fn create(&self, t: &dyn Transport) -> Result<(), String> {
        match self.api() {
            Api::V1 => {
                let q = format!("CREATE DATABASE \"{}\"", self.db.replace('"', "\\\""));
                t.send(&self.authorised(Request::new(Method::Post, "/query").query("q", q)))?
                    .success()
                    .map(drop)
            }
            Api::V2 => {
                let found = t
                    .send(
                        &self.authorised(
                            Request::new(Method::Get, "/api/v2/buckets")
                                .query("org", self.org())
                                .query("name", &self.db),
                        ),
                    )?
                    .success()?;
                if json_array_len(&found, "buckets").is_some_and(|n| n > 0) {
                    return Ok(());
                }
                let orgs = t
                    .send(&self.authorised(
                        Request::new(Method::Get, "/api/v2/orgs").query("org", self.org()),
                    ))?
                    .success()?;
                let id = serde_json::from_str::<serde_json::Value>(&orgs)
                    .ok()
                    .and_then(|v| v["orgs"][0]["id"].as_str().map(str::to_string))
                    .ok_or_else(|| format!("no organisation named \"{}\"", self.org()))?;
                let body = serde_json::json!({"orgID": id, "name": self.db, "retentionRules": []});
                let reply = t.send(
                    &self.authorised(
                        Request::new(Method::Post, "/api/v2/buckets")
                            .header("Content-Type", "application/json")
                            .body(body.to_string()),
                    ),
                )?;
                // Created meanwhile by someone else: there now, which is what was asked.
                if reply.status == 422 && reply.body.contains("already exists") {
                    return Ok(());
                }
                reply.success().map(drop)
            }
            Api::V3 => {
                let reply = t.send(
                    &self.authorised(
                        Request::new(Method::Post, "/api/v3/configure/database")
                            .header("Content-Type", "application/json")
                            .body(serde_json::json!({"db": self.db}).to_string()),
                    ),
                )?;
                if reply.status == 409 {
                    return Ok(());
                }
                reply.success().map(drop)
            }
        }
    }

    /// Writes one line of line protocol.
    pub fn write(&self, t: &dyn Transport, line: &str) -> Result<(), String> {
        let r = match self.api() {
            Api::V1 => Request::new(Method::Post, "/write").query("db", &self.db),
            Api::V2 => Request::new(Method::Post, "/api/v2/write")
                .query("org", self.org())
                .query("bucket", &self.db)
                .query("precision", "ns"),
            Api::V3 => Request::new(Method::Post, "/api/v3/write_lp").query("db", &self.db),
        };
        let r = r
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(line);
        t.send(&self.authorised(r))?.success().map(drop)
    }

    /// Reads the latest probe point back: `Ok` only when the answer holds one.
    pub fn read(&self, t: &dyn Transport) -> Result<(), String> {
        let r = match self.api() {
            Api::V1 => Request::new(Method::Get, "/query")
                .query("db", &self.db)
                .query("q", format!("SELECT last(seq) FROM {MEASUREMENT}")),
            Api::V2 => {
                let flux = format!(
                    "from(bucket: \"{}\") |> range(start: 0) |> filter(fn: (r) => r._measurement == \"{MEASUREMENT}\" and r._field == \"seq\") |> last()",
                    self.db.replace('\\', "\\\\").replace('"', "\\\"")
                );
                Request::new(Method::Post, "/api/v2/query")
                    .query("org", self.org())
                    .header("Content-Type", "application/json")
                    .header("Accept", "application/csv")
                    .body(serde_json::json!({"query": flux, "type": "flux"}).to_string())
            }
            Api::V3 => Request::new(Method::Get, "/api/v3/query_sql")
                .query("db", &self.db)
                .query(
                    "q",
                    format!("SELECT seq FROM {MEASUREMENT} ORDER BY time DESC LIMIT 1"),
                )
                .query("format", "json"),
        };
        let body = t.send(&self.authorised(r))?.success()?;
        let found = match self.api() {
            Api::V1 => body.contains("\"series\"") && !body.contains("\"error\""),
            // Annotated CSV: a header row, then one row per record.
            Api::V2 => body
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .skip(1)
                .any(|l| l.contains(MEASUREMENT)),
            Api::V3 => serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.as_array().map(|a| !a.is_empty()))
                .unwrap_or(false),
        };
        if found {
            Ok(())
        } else {
            Err(format!(
                "unexpected answer: {}",
                body.chars().take(120).collect::<String>()
            ))
        }
    }
}

/// The measurement the probe writes and reads.
pub const MEASUREMENT: &str = "hasim_probe";

fn json_array_len(body: &str, key: &str) -> Option<usize> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()?
        .get(key)?
        .as_array()
        .map(Vec::len)
}

/// Which API the store at the other end of `t` speaks (see the module's documentation).
/// `/ping` is asked without credentials first: 1.x and 2.x answer anyone; 3.x asks for a
/// token, which is then sent as 3.x takes it (`Bearer`).
pub fn detect(t: &dyn Transport, auth: &Auth) -> Result<Api, String> {
    let ask = |path, authorization: Option<String>| {
        let mut r = Request::new(Method::Get, path);
        if let Some(h) = authorization {
            r = r.header("Authorization", h);
        }
        t.send(&r)
    };
    let version_in_body = |body: &str| {
        serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["version"].as_str().and_then(Api::of_version))
    };
    let down = |e| {
        format!(
            "cannot ask the store which API it speaks ({e}); give --api v1|v2|v3 to start while it is down"
        )
    };
    let mut ping = ask("/ping", None).map_err(down)?;
    if matches!(ping.status, 401 | 403) {
        let Some(bearer) = auth.header(Some(Api::V3)) else {
            return Err(format!(
                "the store asks for credentials at /ping (HTTP {}): give --token (or INFLUX_TOKEN), or --api",
                ping.status
            ));
        };
        ping = ask("/ping", Some(bearer)).map_err(down)?;
        if matches!(ping.status, 401 | 403) {
            return Err(format!(
                "the store refuses the token at /ping (HTTP {})",
                ping.status
            ));
        }
    }
    if let Some(api) = ping
        .header("x-influxdb-version")
        .and_then(Api::of_version)
        .or_else(|| version_in_body(&ping.body))
    {
        return Ok(api);
    }
    if let Ok(health) = ask("/health", None)
        && let Some(api) = version_in_body(&health.body)
    {
        return Ok(api);
    }
    Err(format!(
        "the store does not say its version at /ping or /health (HTTP {}; InfluxDB Cloud does not): give --api v1|v2|v3",
        ping.status
    ))
}

/// How https is verified.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// Trust these CA certificates (PEM) instead of the built-in roots (Mozilla's).
    pub ca_pem: Option<Vec<u8>>,
    /// Do not verify the server's certificate at all.
    pub insecure: bool,
}

/// InfluxDB's HTTP API at a base URL, each request with a timeout, no redirect followed
/// (a 3xx answer is a failure), credentials kept out of every message.
pub struct Http {
    agent: ureq::Agent,
    base: String,
    /// What to hide in messages: the URL's `user:password`, the store's secrets.
    secrets: Vec<String>,
}

impl Http {
    /// Fails only for a CA file that holds no certificate.
    pub fn new(url: &str, timeout: Duration, tls: &Tls) -> Result<Self, String> {
        let mut tls_config = ureq::tls::TlsConfig::builder().disable_verification(tls.insecure);
        if let Some(pem) = &tls.ca_pem {
            let certs = ureq::tls::parse_pem(pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e.to_string())),
                })
                .collect::<Result<Vec<_>, _>>()?;
            if certs.is_empty() {
                return Err("it holds no PEM certificate".into());
            }
            tls_config = tls_config.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .http_status_as_error(false)
            .tls_config(tls_config.build())
            .build();
        let secrets = url
            .split_once("://")
            .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
            .and_then(|authority| authority.rsplit_once('@'))
            .map(|(userinfo, _)| userinfo.to_string())
            .filter(|u| !u.is_empty())
            .into_iter()
            .collect();
        Ok(Http {
            agent: ureq::Agent::new_with_config(config),
            base: url.trim_end_matches('/').to_string(),
            secrets,
        })
    }

    /// Also hides these in every message.
    pub fn hiding(mut self, secrets: &[&str]) -> Self {
        self.secrets.extend(
            secrets
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| s.to_string()),
        );
        self
    }

    /// A failure's message, credentials hidden.
    fn error(&self, e: impl std::fmt::Display) -> String {
        let mut text = e.to_string();
        for s in &self.secrets {
            text = text.replace(s.as_str(), "***");
        }
        text
    }
}

impl Transport for Http {
    fn send(&self, r: &Request) -> Result<Reply, String> {
        let url = format!("{}{}", self.base, r.path);
        // The query and headers, on either kind of request builder.
        fn prepared<B>(b: ureq::RequestBuilder<B>, r: &Request) -> ureq::RequestBuilder<B> {
            let b = b.query_pairs(r.query.iter().map(|(k, v)| (*k, v.as_str())));
            r.headers.iter().fold(b, |b, (k, v)| b.header(*k, v))
        }
        let answer = match r.method {
            Method::Get => prepared(self.agent.get(&url), r).call(),
            Method::Post => prepared(self.agent.post(&url), r).send(r.body.as_str()),
        };
        let mut resp = answer.map_err(|e| self.error(e))?;
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| self.error(e))?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers from a script and keeps what it was sent.
    struct Scripted {
        replies: Mutex<Vec<Result<Reply, String>>>,
        sent: Mutex<Vec<Request>>,
    }

    impl Scripted {
        fn new(replies: Vec<Result<Reply, String>>) -> Self {
            Scripted {
                replies: Mutex::new(replies.into_iter().rev().collect()),
                sent: Mutex::new(vec![]),
            }
        }
    }

    impl Transport for Scripted {
        fn send(&self, r: &Request) -> Result<Reply, String> {
            self.sent.lock().unwrap().push(r.clone());
            self.replies
                .lock()
                .unwrap()
                .pop()
                .expect("a reply scripted")
        }
    }

    fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Result<Reply, String> {
        Ok(Reply {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.into(),
        })
    }

    #[test]
    fn the_api_is_told_by_the_version_header_the_ping_body_or_health() {
        for (ping, health, api) in [
            (
                reply(204, &[("x-influxdb-version", "1.6.7~rc0")], ""),
                None,
                Api::V1,
            ),
            (
                reply(204, &[("x-influxdb-version", "v2.7.11")], ""),
                None,
                Api::V2,
            ),
            (
                reply(200, &[], r#"{"version":"3.0.1","revision":"x"}"#),
                None,
                Api::V3,
            ),
            (
                reply(204, &[], ""),
                Some(reply(200, &[], r#"{"status":"pass","version":"v2.7.1"}"#)),
                Api::V2,
            ),
        ] {
            let t = Scripted::new([Some(ping), health].into_iter().flatten().collect());
            assert_eq!(detect(&t, &Auth::None), Ok(api));
        }
        let t = Scripted::new(vec![reply(401, &[], "")]);
        let e = detect(&t, &Auth::None).unwrap_err();
        assert!(e.contains("--token"), "{e}");
        // 3.x: the token only once /ping asks for it, as a bearer token.
        let t = Scripted::new(vec![
            reply(401, &[], ""),
            reply(200, &[("x-influxdb-version", "3.0.1")], "{}"),
        ]);
        assert_eq!(detect(&t, &Auth::Token("t".into())), Ok(Api::V3));
        let sent = t.sent.lock().unwrap();
        assert!(sent[0].headers.is_empty());
        assert_eq!(sent[1].headers, [("Authorization", "Bearer t".to_string())]);
        let t = Scripted::new(vec![reply(204, &[], ""), reply(404, &[], "")]);
        assert!(detect(&t, &Auth::None).unwrap_err().contains("--api"));
        let t = Scripted::new(vec![Err("connection refused".into())]);
        assert!(
            detect(&t, &Auth::None)
                .unwrap_err()
                .contains("while it is down")
        );
    }

    #[test]
    fn each_api_writes_and_reads_as_documented_with_its_credentials() {
        let store = |api, auth| Store {
            api: Some(api),
            db: "probe".into(),
            org: Some("acme".into()),
            auth,
            create: true,
        };
        let token = Auth::Token("s3cret".into());
        let cases = [
            (store(Api::V1, Auth::None), "/write", None),
            (
                store(
                    Api::V1,
                    Auth::Basic {
                        user: "u".into(),
                        password: "p".into(),
                    },
                ),
                "/write",
                Some("Basic dTpw"),
            ),
            (
                store(Api::V2, token.clone()),
                "/api/v2/write",
                Some("Token s3cret"),
            ),
            (
                store(Api::V3, token),
                "/api/v3/write_lp",
                Some("Bearer s3cret"),
            ),
        ];
        for (s, path, auth) in cases {
            let t = Scripted::new(vec![reply(204, &[], "")]);
            s.write(&t, "hasim_probe seq=1i").unwrap();
            let sent = &t.sent.lock().unwrap()[0];
            assert_eq!((sent.method, sent.path), (Method::Post, path));
            assert_eq!(sent.body, "hasim_probe seq=1i");
            let header = sent
                .headers
                .iter()
                .find(|(k, _)| *k == "Authorization")
                .map(|(_, v)| v.as_str());
            assert_eq!(header, auth, "{path}");
            // The secret is in a header, never in the URL.
            assert!(sent.query.iter().all(|(_, v)| !v.contains("s3cret")));
        }
        // Reads: found only when the answer holds a point.
        let v2 = store(Api::V2, Auth::Token("t".into()));
        let csv = ",result,table,_start,_stop,_time,_value,_field,_measurement\r\n,_result,0,1970-01-01T00:00:00Z,2026-12-03T00:00:00Z,2026-12-03T00:00:00Z,7,seq,hasim_probe\r\n\r\n";
        assert!(v2.read(&Scripted::new(vec![reply(200, &[], csv)])).is_ok());
        assert!(
            v2.read(&Scripted::new(vec![reply(200, &[], "\r\n")]))
                .is_err()
        );
        let v3 = store(Api::V3, Auth::Token("t".into()));
        assert!(
            v3.read(&Scripted::new(vec![reply(200, &[], r#"[{"seq":7}]"#)]))
                .is_ok()
        );
        assert!(
            v3.read(&Scripted::new(vec![reply(200, &[], "[]")]))
                .is_err()
        );
        let e = v3
            .read(&Scripted::new(vec![reply(
                404,
                &[],
                r#"{"error":"database not found: probe"}"#,
            )]))
            .unwrap_err();
        assert!(
            e.starts_with("HTTP 404: ") && e.contains("database not found"),
            "{e}"
        );
    }

    #[test]
    fn creation_finds_an_existing_bucket_and_takes_a_conflict_as_done() {
        let s = Store {
            api: Some(Api::V2),
            db: "probe".into(),
            org: Some("acme".into()),
            auth: Auth::Token("t".into()),
            create: true,
        };
        let t = Scripted::new(vec![reply(200, &[], r#"{"buckets":[{"id":"b1"}]}"#)]);
        s.create(&t).unwrap();
        assert_eq!(t.sent.lock().unwrap().len(), 1, "found: nothing created");
        let t = Scripted::new(vec![
            reply(200, &[], r#"{"buckets":[]}"#),
            reply(200, &[], r#"{"orgs":[{"id":"o1","name":"acme"}]}"#),
            reply(201, &[], r#"{"id":"b2"}"#),
        ]);
        s.create(&t).unwrap();
        let sent = t.sent.lock().unwrap();
        let made: serde_json::Value = serde_json::from_str(&sent[2].body).unwrap();
        assert_eq!(
            (made["orgID"].as_str(), made["name"].as_str()),
            (Some("o1"), Some("probe"))
        );
        let v3 = Store {
            api: Some(Api::V3),
            ..s.clone()
        };
        assert!(v3.create(&Scripted::new(vec![reply(409, &[], "")])).is_ok());
        assert!(
            v3.create(&Scripted::new(vec![reply(401, &[], "")]))
                .is_err()
        );
    }

    #[test]
    fn what_cannot_work_is_refused_before_any_request() {
        let mut s = Store::v1("x");
        s.api = Some(Api::V2);
        assert!(s.check().unwrap_err().contains("--org"));
        s.org = Some("acme".into());
        s.auth = Auth::Basic {
            user: "u".into(),
            password: "p".into(),
        };
        assert!(s.check().unwrap_err().contains("token"));
        s.auth = Auth::Token("t".into());
        assert!(s.check().is_ok());
    }
}
