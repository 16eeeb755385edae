//! A real Prometheus (Debian's `prometheus`) scraping one target every second, on a
//! loopback port of its own with its storage in a temporary directory, and instant
//! queries against its HTTP API.

use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::daemon::get;
use super::etc_netns::Reaped;
use super::netns::REQUIRE_ENV;

/// A running Prometheus; stopped (and its storage removed) when dropped.
pub struct Prometheus {
    address: SocketAddr,
    dir: tempfile::TempDir,
    _process: Reaped,
}

impl Prometheus {
    /// Prometheus scraping `target`'s `/metrics` every second, once it answers
    /// `/-/ready`. `None` (with a message) where it is not installed and
    /// `NETLENS_REQUIRE_NETNS` is not `1`.
    pub fn scraping(target: SocketAddr) -> Option<Self> {
        if Command::new("prometheus").arg("--version").output().is_err() {
            assert!(std::env::var(REQUIRE_ENV).as_deref() != Ok("1"), "prometheus is not installed");
            eprintln!("skipping: prometheus is not installed (apt-get install prometheus)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: netlens\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // A port the kernel just handed out and nobody holds; Prometheus binds it next.
        let address = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap_or_else(|e| panic!("a free port: {e}"));
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap_or_else(|e| panic!("{e}"));
        let process = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
            .arg(format!("--web.listen-address={address}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting prometheus: {e}"));
        let prometheus = Self { address, dir, _process: Reaped(process) };
        prometheus.until("Prometheus ready", Duration::from_secs(30), |prometheus| {
            std::net::TcpStream::connect(prometheus.address).is_ok()
                && get(prometheus.address, "/-/ready", "*/*").0 == 200
        });
        Some(prometheus)
    }

    /// The instant vector `promql` evaluates to now: each series's labels and value.
    pub fn query(&self, promql: &str) -> Vec<(serde_json::Value, f64)> {
        let (status, body) = get(self.address, &format!("/api/v1/query?query={}", encode(promql)), "*/*");
        assert_eq!(status, 200, "query {promql}: {body}");
        let answer: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("query {promql}: {e}: {body}"));
        assert_eq!(answer["status"], "success", "query {promql}: {body}");
        answer["data"]["result"]
            .as_array()
            .unwrap_or_else(|| panic!("query {promql}: {body}"))
            .iter()
            .map(|series| {
                let value = series["value"][1].as_str().and_then(|v| v.parse().ok());
                (series["metric"].clone(), value.unwrap_or_else(|| panic!("query {promql}: {body}")))
            })
            .collect()
    }

    /// The value of `promql` when it is one series, `None` when it is none.
    pub fn value(&self, promql: &str) -> Option<f64> {
        let result = self.query(promql);
        assert!(result.len() <= 1, "{promql} is {} series: {result:?}", result.len());
        result.first().map(|(_, value)| *value)
    }

    /// Wait until `done` says yes, or fail after `timeout` with Prometheus's log.
    pub fn until(&self, what: &str, timeout: Duration, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default();
                panic!("{what}: not within {timeout:?}; Prometheus's log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// `text` percent-encoded for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Every panel's PromQL in a Grafana dashboard.
pub fn dashboard_queries(dashboard: &serde_json::Value) -> Vec<String> {
    let mut exprs = Vec::new();
    let mut panels: Vec<&serde_json::Value> = dashboard["panels"].as_array().into_iter().flatten().collect();
    while let Some(panel) = panels.pop() {
        panels.extend(panel["panels"].as_array().into_iter().flatten());
        for target in panel["targets"].as_array().into_iter().flatten() {
            exprs.extend(target["expr"].as_str().map(str::to_owned));
        }
    }
    exprs
}
