//! The HTTP endpoint over a store whose source fails and is restarted by the
//! supervisor, as the daemon runs them: every scrape during the restart is answered,
//! the source's series reads 0 and /healthz 503 naming it and why, until the restarted
//! source reports again.

use std::net::SocketAddr;
use std::time::Duration;

use netlens_collectors::metrics::BuildInfo;
use netlens_collectors::model::{SourceId, SourceState};
use netlens_collectors::source::{EventSink, Source, SourceError, spawn_supervised};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{Ask, Store, answer, http};

/// A source whose first run fails after reporting once; its second runs for good.
struct FailsOnce {
    runs: u32,
}

impl Source for FailsOnce {
    fn id(&self) -> SourceId {
        SourceId::Dns
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        self.runs += 1;
        sink.status(SourceState::Ok, format!("run {}", self.runs)).await?;
        if self.runs == 1 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return Err(SourceError::Other("resolv.conf vanished".to_owned()));
        }
        std::future::pending().await
    }
}

/// `GET path` over HTTP/1.0: the status code and the body.
async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap_or_else(|e| panic!("{e}"));
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap_or_else(|e| panic!("{e}"));
    let code = response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (code, response.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_during_a_source_restart_are_served_and_health_names_the_source() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (asks, mut asked) = tokio::sync::mpsc::channel::<Ask>(64);
    let server = tokio::spawn(http::serve(listener, asks));
    let (events, mut received) = tokio::sync::mpsc::channel(64);
    let source = spawn_supervised(FailsOnce { runs: 0 }, events);
    let store_task = tokio::spawn(async move {
        let build = BuildInfo { version: "0" };
        let mut store = Store::default();
        loop {
            tokio::select! {
                Some(event) = received.recv() => store.apply(event),
                Some(ask) = asked.recv() => answer(ask, &store, &build),
                else => return,
            }
        }
    });

    // Scrape every 20 ms: up, then failed (503 naming it; the series 0), then up again
    // after the supervisor's 1 s backoff. No scrape goes unanswered.
    let mut seen: Vec<(u16, &str)> = Vec::new();
    let mut failure = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        let (code, metrics) = get(address, "/metrics").await;
        assert_eq!(code, 200, "{metrics}");
        let (health, body) = get(address, "/healthz").await;
        let up = metrics.lines().find_map(|line| line.strip_prefix("netlens_source_up{source=\"dns\"} "));
        let state = match (health, up) {
            (200, Some("1")) => "up",
            (503, Some("0")) => {
                failure = body;
                "failed"
            }
            (_, None) => "not yet",
            other => panic!("/healthz and the series disagree: {other:?}"),
        };
        if seen.last().map(|(_, last)| *last) != Some(state) {
            seen.push((health, state));
        }
        if seen.iter().map(|(_, state)| *state).collect::<Vec<_>>().ends_with(&["up", "failed", "up"]) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let states: Vec<&str> = seen.iter().map(|(_, state)| *state).collect();
    assert!(states.ends_with(&["up", "failed", "up"]), "{seen:?}");
    assert_eq!(failure, "failed:\ndns: resolv.conf vanished (retrying in 1 s)\n");
    source.abort();
    server.abort();
    store_task.abort();
}
