//! Things tests run inside a namespace besides netlens: a TCP listener, a process
//! holding a tun device open (so it has a carrier, as a running VPN client gives it),
//! and plain "run this closure in that namespace".

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::sched::{CloneFlags, setns};

use super::netns::Netns;

/// Enter `netns` on the calling thread.
pub fn enter(netns: &Netns) {
    let path = netns.path();
    let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    setns(&file, CloneFlags::CLONE_NEWNET)
        .unwrap_or_else(|error| panic!("setns {}: {error}", path.display()));
}

/// Run `f` on a new thread inside `netns` and return its result.
pub fn in_netns<R: Send + 'static>(netns: &Netns, f: impl FnOnce() -> R + Send + 'static) -> R {
    let path = netns.path();
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
        f()
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// A TCP listener inside a namespace that accepts (and drops) connections until dropped.
pub struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Listen on `address` inside `netns`.
    pub fn start(netns: &Netns, address: SocketAddr) -> Self {
        let path = netns.path();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let file = File::open(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|error| panic!("setns: {error}"));
            let listener =
                TcpListener::bind(address).unwrap_or_else(|error| panic!("bind {address}: {error}"));
            listener.set_nonblocking(true).unwrap_or_else(|error| panic!("nonblocking: {error}"));
            let _ = ready_tx.send(());
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => drop(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|error| panic!("listener: {error}"));
        Self { stop, thread: Some(thread) }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A process holding tun device `name` in `netns` open, so the device has a carrier.
pub struct TunHolder {
    child: Child,
}

impl TunHolder {
    /// Attach to the existing tun device `name` (`ip tuntap add mode tun name NAME` first).
    pub fn attach(netns: &Netns, name: &str) -> Self {
        // TUNSETIFF with IFF_TUN | IFF_NO_PI: python3 is on every machine this runs on,
        // and it keeps `unsafe` ioctls out of the tests.
        let script = format!(
            "import fcntl,os,struct,sys,time\n\
             fd=os.open('/dev/net/tun',os.O_RDWR)\n\
             fcntl.ioctl(fd,0x400454ca,struct.pack('16sH',b'{name}',0x1001))\n\
             print('ready',flush=True)\n\
             sys.stdin.read()\n"
        );
        let mut child = Command::new("ip")
            .args(["netns", "exec", netns.name(), "python3", "-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("starting the tun holder: {error}"));
        let mut line = String::new();
        if let Some(stdout) = child.stdout.as_mut() {
            use std::io::BufRead as _;
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        }
        assert_eq!(line.trim(), "ready", "the tun holder did not attach to {name}");
        Self { child }
    }
}

impl Drop for TunHolder {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait a little, for the kernel to settle (DAD, link state) in setups.
pub fn settle(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}
