//! What the integration tests share: free loopback ports, and real servers (Debian's
//! `influxd` and `prometheus`) started on them in temporary folders, stopped when dropped.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real `influxd` on loopback; stopped when dropped.
pub struct Influx {
    child: Option<Child>,
    pub config: std::path::PathBuf,
    pub http: u16,
    https: bool,
    _dir: tempfile::TempDir,
}

/// The test CA and the server certificate it signed (127.0.0.1 and localhost, valid to
/// 2126), made with openssl once: tests/fixtures/tls.
pub fn tls_fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

impl Influx {
    pub fn start() -> Influx {
        let mut s = Influx::configured();
        s.spawn();
        s
    }

    /// Serving https with the fixture's certificate.
    pub fn start_tls() -> Influx {
        let mut s = Influx::configured();
        let mut config = std::fs::read_to_string(&s.config).unwrap();
        config += &format!(
            "  https-enabled = true\n  https-certificate = \"{}\"\n  https-private-key = \"{}\"\n",
            tls_fixture("server.pem").display(),
            tls_fixture("server.key").display()
        );
        std::fs::write(&s.config, config).unwrap();
        s.https = true;
        s.spawn();
        s
    }

    /// A configuration on free loopback ports in a temporary folder, not started.
    pub fn configured() -> Influx {
        let dir = tempfile::tempdir().unwrap();
        let (http, rpc) = (free_port(), free_port());
        let d = dir.path().display();
        let config = dir.path().join("influxdb.conf");
        std::fs::write(
            &config,
            format!(
                "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
                 [meta]\n  dir = \"{d}/meta\"\n\
                 [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n\
                 [monitor]\n  store-enabled = false\n\
                 [http]\n  bind-address = \"127.0.0.1:{http}\"\n  log-enabled = false\n"
            ),
        )
        .unwrap();
        Influx {
            child: None,
            config,
            http,
            https: false,
            _dir: dir,
        }
    }

    pub fn spawn(&mut self) {
        let child = Process::new(influxd())
            .args(["run", "-config"])
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("influxd runs (apt-get install -y influxdb)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        let url = format!("{}/ping", self.url());
        // Readiness only: the certificate is the tests' business.
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .tls_config(
                    ureq::tls::TlsConfig::builder()
                        .disable_verification(true)
                        .build(),
                )
                .build(),
        );
        while Instant::now() < deadline {
            if agent.get(&url).call().is_ok_and(|r| r.status() == 204) {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("influxd exited with {status} before it answered /ping");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("influxd did not answer /ping within 20 s");
    }

    /// SIGKILL, like a crashed container.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.http)
    }
}

impl Drop for Influx {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn influxd() -> &'static str {
    if Path::new("/usr/bin/influxd").exists() {
        "/usr/bin/influxd"
    } else {
        "influxd"
    }
}

impl Influx {
    pub fn pid(&self) -> String {
        self.child.as_ref().expect("running").id().to_string()
    }

    /// Sends `signal` (`STOP`, `CONT`) to the server.
    pub fn signal(&self, signal: &str) {
        let status = Process::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal}");
    }
}

/// A real Prometheus on loopback, over backfilled storage or scraping; stopped when dropped.
pub struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

pub fn binary(name: &str) -> PathBuf {
    let debian = Path::new("/usr/bin").join(name);
    if debian.exists() {
        debian
    } else {
        PathBuf::from(name)
    }
}

impl Prometheus {
    pub fn start(openmetrics: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("ksm.om");
        std::fs::write(&input, openmetrics).unwrap();
        let blocks = dir.path().join("blocks");
        let out = Process::new(binary("promtool"))
            .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
            .arg(&input)
            .arg(&blocks)
            .output()
            .expect("promtool runs (apt-get install -y prometheus)");
        assert!(
            out.status.success(),
            "promtool: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let data = dir.path().join("data");
        std::fs::rename(&blocks, &data).unwrap();
        Prometheus::launch(dir, "global: {}\n")
    }

    /// Scraping `target` (`HOST:PORT`, `/metrics`) every `every`, from empty storage.
    pub fn scraping(target: &str, every: &str) -> Prometheus {
        Prometheus::launch(
            tempfile::tempdir().unwrap(),
            &format!(
                "global:\n  scrape_interval: {every}\n  scrape_timeout: {every}\n\
                 scrape_configs:\n  - job_name: hasim_probe\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
    }

    /// Runs on `dir`'s `data` storage with this configuration; returns once ready.
    fn launch(dir: tempfile::TempDir, config_text: &str) -> Prometheus {
        let data = dir.path().join("data");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_text).unwrap();
        let port = free_port();
        let child = Process::new(binary("prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus runs (apt-get install -y prometheus)");
        let p = Prometheus {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        let ready = format!("{}/-/ready", p.url());
        while Instant::now() < deadline {
            if ureq::get(&ready).call().is_ok_and(|r| r.status() == 200) {
                return p;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("prometheus was not ready within 120 s");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON Schemas of hasim's documents (`docs/schema/`), `$ref`s between them resolved
/// from the folder.
struct SchemaFolder;

impl jsonschema::Retrieve for SchemaFolder {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.path().as_str().rsplit('/').next().unwrap_or_default();
        Ok(schema_file(name))
    }
}

fn schema_file(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/schema")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The validator of `docs/schema/NAME`, formats (`date-time`) checked.
pub fn schema(name: &str) -> jsonschema::Validator {
    let schema = schema_file(name);
    jsonschema::meta::validate(&schema).unwrap_or_else(|e| panic!("{name} is no JSON Schema: {e}"));
    jsonschema::options()
        .with_retriever(SchemaFolder)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Fails the test, naming every violation, unless `doc` follows `docs/schema/NAME`.
pub fn assert_follows(name: &str, doc: &serde_json::Value) {
    let errors: Vec<String> = schema(name)
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not as docs/schema/{name} says:\n{}\n{doc:#}",
        errors.join("\n")
    );
}
