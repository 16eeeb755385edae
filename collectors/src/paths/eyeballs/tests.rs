//! Race scheduling with a scripted connector under paused time, and one real race
//! on loopback.

#![expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

use std::collections::HashMap;

use super::*;

/// How a scripted attempt to one address goes.
#[derive(Clone)]
enum Script {
    /// Connects after this many milliseconds.
    Connect(u64),
    /// Fails after this many milliseconds.
    Fail(u64, ProbeError),
    /// Never finishes.
    Hang,
}

struct Scripted(HashMap<SocketAddr, Script>);

impl Connector for Scripted {
    fn connect(&self, address: SocketAddr) -> ConnectFuture<'_> {
        let script = self.0.get(&address).cloned().unwrap_or(Script::Hang);
        Box::pin(async move {
            match script {
                Script::Connect(ms) => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Ok(())
                }
                Script::Fail(ms, error) => {
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    Err(error)
                }
                Script::Hang => std::future::pending().await,
            }
        })
    }
}

fn v6(last: u16) -> SocketAddr {
    SocketAddr::from((Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, last), 443))
}

fn v4(last: u8) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(192, 0, 2, last), 443))
}

/// An attempt as the tables write it: address, start, duration, outcome, winner.
fn attempt(address: SocketAddr, started: u64, duration: u64, outcome: AttemptOutcome) -> ConnectAttempt {
    let error = match outcome {
        AttemptOutcome::Refused => Some("connection refused".to_owned()),
        AttemptOutcome::TimedOut => Some("no answer within 1 s".to_owned()),
        AttemptOutcome::Unreachable => Some("network unreachable".to_owned()),
        _ => None,
    };
    ConnectAttempt {
        address,
        started_ms: started as f64,
        duration_ms: duration as f64,
        outcome,
        winner: outcome == AttemptOutcome::Connected,
        error,
    }
}

async fn run(addresses: &[SocketAddr], script: &[(SocketAddr, Script)]) -> Race {
    let connector = Scripted(script.iter().cloned().collect());
    race(addresses, &connector, ATTEMPT_DELAY, Duration::from_secs(1)).await
}

#[test]
fn interleaving() {
    let a6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    let b6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
    let c6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 3);
    let a4 = Ipv4Addr::new(192, 0, 2, 1);
    let b4 = Ipv4Addr::new(192, 0, 2, 2);
    let at = |ip: std::net::IpAddr| SocketAddr::new(ip, 80);
    assert_eq!(interleave(&[], &[], 80), []);
    assert_eq!(interleave(&[a6], &[], 80), [at(a6.into())]);
    assert_eq!(interleave(&[], &[a4, b4], 80), [at(a4.into()), at(b4.into())]);
    assert_eq!(
        interleave(&[a6, b6, c6], &[a4], 80),
        [at(a6.into()), at(a4.into()), at(b6.into()), at(c6.into())]
    );
    assert_eq!(interleave(&[a6], &[a4, b4], 80), [at(a6.into()), at(a4.into()), at(b4.into())]);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_ipv6_attempt_loses_to_ipv4_started_after_the_delay() {
    let race = run(&[v6(1), v4(1)], &[(v6(1), Script::Hang), (v4(1), Script::Connect(20))]).await;
    assert_eq!(
        race.attempts,
        [
            attempt(v6(1), 0, 270, AttemptOutcome::Cancelled),
            attempt(v4(1), 250, 20, AttemptOutcome::Connected)
        ]
    );
    assert_eq!(race.winner, Some(v4(1)));
    assert_eq!(race.elapsed, Duration::from_millis(270));
}

#[tokio::test(start_paused = true)]
async fn a_fast_first_attempt_wins_before_the_others_start() {
    let addresses = [v6(1), v4(1), v6(2)];
    let race = run(&addresses, &[(v6(1), Script::Connect(30))]).await;
    assert_eq!(
        race.attempts,
        [
            attempt(v6(1), 0, 30, AttemptOutcome::Connected),
            attempt(v4(1), 0, 0, AttemptOutcome::NotStarted),
            attempt(v6(2), 0, 0, AttemptOutcome::NotStarted),
        ]
    );
    assert_eq!(race.winner, Some(v6(1)));
}

#[tokio::test(start_paused = true)]
async fn a_refused_attempt_starts_the_next_one_at_once() {
    let race =
        run(&[v6(1), v4(1)], &[(v6(1), Script::Fail(10, ProbeError::Refused)), (v4(1), Script::Connect(5))])
            .await;
    assert_eq!(
        race.attempts,
        [attempt(v6(1), 0, 10, AttemptOutcome::Refused), attempt(v4(1), 10, 5, AttemptOutcome::Connected)]
    );
    assert_eq!(race.elapsed, Duration::from_millis(15));
}

#[tokio::test(start_paused = true)]
async fn a_failure_while_another_attempt_runs_brings_the_next_one_forward() {
    // v6(1) hangs; v4(1) starts at 250 and is unreachable at 260; v6(2) starts
    // then instead of at 500, and connects.
    let unreachable = ProbeError::Unreachable("network unreachable".to_owned());
    let race =
        run(&[v6(1), v4(1), v6(2)], &[(v4(1), Script::Fail(10, unreachable)), (v6(2), Script::Connect(40))])
            .await;
    assert_eq!(
        race.attempts,
        [
            attempt(v6(1), 0, 300, AttemptOutcome::Cancelled),
            attempt(v4(1), 250, 10, AttemptOutcome::Unreachable),
            attempt(v6(2), 260, 40, AttemptOutcome::Connected),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn when_every_attempt_fails_there_is_no_winner() {
    let race = run(
        &[v6(1), v4(1)],
        &[(v6(1), Script::Fail(5, ProbeError::Refused)), (v4(1), Script::Fail(7, ProbeError::Refused))],
    )
    .await;
    assert_eq!(
        race.attempts,
        [attempt(v6(1), 0, 5, AttemptOutcome::Refused), attempt(v4(1), 5, 7, AttemptOutcome::Refused)]
    );
    assert_eq!(race.winner, None);
    assert_eq!(race.elapsed, Duration::from_millis(12));
}

#[tokio::test(start_paused = true)]
async fn attempts_time_out_on_their_own_clock() {
    // Both hang: v6 times out at 1000, v4 (started at 250) at 1250.
    let race = run(&[v6(1), v4(1)], &[]).await;
    assert_eq!(
        race.attempts,
        [
            attempt(v6(1), 0, 1000, AttemptOutcome::TimedOut),
            attempt(v4(1), 250, 1000, AttemptOutcome::TimedOut)
        ]
    );
    assert_eq!(race.winner, None);
    assert_eq!(race.elapsed, Duration::from_millis(1250));
}

#[tokio::test(start_paused = true)]
async fn nothing_to_race() {
    let race = run(&[], &[]).await;
    assert_eq!(race, Race { attempts: Vec::new(), winner: None, elapsed: Duration::ZERO });
}

#[tokio::test]
async fn real_race_on_loopback_ipv6_refused_ipv4_wins() {
    // A port free on both families: listen on 127.0.0.1, leave ::1 closed.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    if std::net::TcpListener::bind(("::1", port)).is_err() {
        crate::test_policy::cannot_run(&format!("[::1]:{port} is taken or ::1 is missing"));
        return;
    }
    let addresses = interleave(&[Ipv6Addr::LOCALHOST], &[Ipv4Addr::LOCALHOST], port);
    let connector = TcpConnector { interface: None, mark: None, timeout: Duration::from_secs(2) };
    let race = race(&addresses, &connector, ATTEMPT_DELAY, Duration::from_secs(2)).await;
    let outcomes: Vec<_> = race.attempts.iter().map(|a| (a.address, a.outcome, a.winner)).collect();
    assert_eq!(
        outcomes,
        [
            (SocketAddr::from((Ipv6Addr::LOCALHOST, port)), AttemptOutcome::Refused, false),
            (SocketAddr::from((Ipv4Addr::LOCALHOST, port)), AttemptOutcome::Connected, true),
        ]
    );
    assert_eq!(race.attempts[0].error.as_deref(), Some("connection refused"));
    assert!(race.attempts[1].started_ms < 250.0, "started at once after the refusal: {:?}", race.attempts);
    assert_eq!(race.winner, Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port))));
}
