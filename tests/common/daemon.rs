//! A running `netlens daemon` for the tests: started on a port of its choosing in the
//! caller's namespace watching a lab namespace, its log lines, HTTP GETs against it,
//! and the lab (namespace A joined to B by a veth, a nameserver in B for A).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::dns_server::{DnsTestServer, Zone};
use super::etc_netns::{EtcNetns, Reaped};
use super::netns::{Netns, require_netns};
use super::peer::in_netns;

const HOST: &str = "10.93.0.1";
pub const PEER: &str = "10.93.0.2";

/// `GET path` with `accept`; the status code and the body (de-chunked).
pub fn get(address: SocketAddr, path: &str, accept: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap_or_else(|e| panic!("connect {address}: {e}"));
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap_or_else(|e| panic!("{e}"));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let chunked = head.lines().any(|line| {
        let line = line.to_ascii_lowercase();
        line.starts_with("transfer-encoding:") && line.contains("chunked")
    });
    (status, if chunked { dechunk(body) } else { body.to_owned() })
}

/// The body of a chunked HTTP/1.1 response.
fn dechunk(mut body: &str) -> String {
    let mut whole = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or_else(|e| panic!("chunk size {size:?}: {e}"));
        if size == 0 {
            break;
        }
        whole.push_str(&rest[..size]);
        body = rest[size..].strip_prefix("\r\n").unwrap_or(&rest[size..]);
    }
    whole
}

/// The value of the sample `name{labels}` (labels as written, in order), if present.
pub fn sample(body: &str, series: &str) -> Option<u64> {
    body.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The daemon (`netlens`: the binary under test, isolated from the user's files) on a
/// port of its choosing, watching `netns` with the global options `global` and the
/// daemon options `options`; its address, and its log lines.
pub fn start(
    mut netlens: std::process::Command,
    netns: &Netns,
    global: &[&str],
    options: &[&str],
) -> (Reaped, SocketAddr, mpsc::Receiver<String>) {
    let child = netlens
        .args(["--netns", netns.name(), "--log", "/dev/null", "--refresh", "500ms"])
        .args(global)
        .args(["daemon", "--metrics-addr", "127.0.0.1:0"])
        .args(options)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting netlens daemon: {e}"));
    let (daemon, lines) = logging(child);
    let address = serving_address(&lines);
    (daemon, address, lines)
}

/// A started daemon (its standard error piped) and its log lines, each also printed
/// for the test's output.
pub fn logging(mut child: std::process::Child) -> (Reaped, mpsc::Receiver<String>) {
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("daemon: {line}");
            let _ = tx.send(line);
        }
    });
    (Reaped(child), rx)
}

/// The address the daemon's log says it serves on.
pub fn serving_address(lines: &mpsc::Receiver<String>) -> SocketAddr {
    let line = log_line(lines, "address=");
    let address = line.split("address=").nth(1).unwrap_or_default().trim();
    address.parse().unwrap_or_else(|e| panic!("{address}: {e}"))
}

/// Wait (up to 30 s) for a log line containing `needle`.
pub fn log_line(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).unwrap_or_else(|e| panic!("no log line with {needle:?}: {e}"));
        if line.contains(needle) {
            return line;
        }
    }
}

pub fn signal(daemon: &Reaped, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(daemon.0.id() as i32);
    nix::sys::signal::kill(pid, signal).unwrap_or_else(|e| panic!("{e}"));
}

/// The kernel's counters of `device` in `netns` (`ip -s -j link show`).
pub fn kernel_counters(netns: &Netns, device: &str) -> [u64; 4] {
    let link = netns.json(&["-s", "link", "show", device]);
    let stats = &link[0]["stats64"];
    let read =
        |direction: &str, field: &str| stats[direction][field].as_u64().unwrap_or_else(|| panic!("{link}"));
    [read("rx", "bytes"), read("tx", "bytes"), read("rx", "packets"), read("tx", "packets")]
}

pub fn scraped_counters(body: &str, device: &str) -> Option<[u64; 4]> {
    let read =
        |name: &str| sample(body, &format!("netlens_interface_{name}_total{{interface=\"{device}\"}}"));
    Some([
        read("receive_bytes")?,
        read("transmit_bytes")?,
        read("receive_packets")?,
        read("transmit_packets")?,
    ])
}

/// `promtool check metrics` on a scrape: no errors, no lint. Without promtool (not
/// installed, and CI not asking for it) the check is skipped with a message.
pub fn check_metrics(body: &str) {
    let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        assert!(std::env::var("NETLENS_REQUIRE_NETNS").as_deref() != Ok("1"), "promtool is not installed");
        eprintln!("skipping promtool check metrics: promtool is not installed");
        return;
    };
    child
        .stdin
        .take()
        .unwrap_or_else(|| panic!("stdin"))
        .write_all(body.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "promtool check metrics:\n{said}\n{body}");
}

/// Poll `/metrics` until `done` says yes (with the last body), or fail after `timeout`.
pub fn until(
    address: SocketAddr,
    what: &str,
    timeout: Duration,
    mut done: impl FnMut(&str) -> bool,
) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        let (status, body) = get(address, "/metrics", "text/plain");
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}; last scrape:\n{body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Namespace A (watched) and B joined by the veth pair `va` — `vb`, with a nameserver
/// in B answering `api.lab.test` for A's resolver.
pub struct Lab {
    /// The watched namespace.
    pub a: Netns,
    /// The peer namespace.
    pub b: Netns,
    _server: DnsTestServer,
    _files: EtcNetns,
}

impl Lab {
    /// The lab, or `None` where namespaces cannot be made (and may be skipped).
    pub fn new() -> Option<Self> {
        let a = require_netns()?;
        let b = require_netns()?;
        a.batch(&format!(
            "link set lo up\nlink add va type veth peer name vb netns {}\naddr add {HOST}/24 dev va\nlink set va up\n",
            b.name()
        ));
        b.batch(&format!("link set lo up\naddr add {PEER}/24 dev vb\nlink set vb up\n"));
        let resolver: SocketAddr = format!("{PEER}:53").parse().unwrap_or_else(|e| panic!("{e}"));
        let zone =
            Zone::new().host("api.lab.test", &["10.93.0.80".parse().unwrap_or_else(|e| panic!("{e}"))]);
        let server = in_netns(&b, move || DnsTestServer::start(resolver, zone));
        let resolv_conf = format!("nameserver {PEER}\noptions timeout:1 attempts:1\n");
        let files = EtcNetns::write(&a, &[("resolv.conf", &resolv_conf), ("nsswitch.conf", "hosts: dns\n")]);
        Some(Self { a, b, _server: server, _files: files })
    }

    /// 300 UDP datagrams of 1,000 bytes from A to B across the veth; the kernel's
    /// counters of `va` once they are sent.
    pub fn traffic(&self) -> [u64; 4] {
        let peer: SocketAddr = format!("{PEER}:9").parse().unwrap_or_else(|e| panic!("{e}"));
        in_netns(&self.a, move || {
            let socket = UdpSocket::bind("0.0.0.0:0").unwrap_or_else(|e| panic!("{e}"));
            for _ in 0..300 {
                let _ = socket.send_to(&[0x5a; 1000], peer);
            }
        });
        std::thread::sleep(Duration::from_millis(300));
        let kernel = kernel_counters(&self.a, "va");
        assert!(kernel[1] >= 300_000, "the traffic did not leave: {kernel:?}");
        kernel
    }

    /// `getent ahosts api.lab.test` in A, through its resolver.
    pub fn lookup(&self) {
        let lookup = std::process::Command::new("ip")
            .args(["netns", "exec", self.a.name(), "getent", "ahosts", "api.lab.test"])
            .output()
            .unwrap_or_else(|e| panic!("getent: {e}"));
        assert!(lookup.status.success(), "getent: {}", String::from_utf8_lossy(&lookup.stderr));
    }
}
