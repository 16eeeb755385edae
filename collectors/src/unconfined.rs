//! Threads outside the Landlock domain, for the one kind of work Landlock forbids
//! netlens: finding socket owners in other processes' `/proc/PID/fd`.
//!
//! Landlock refuses every ptrace-mode access from inside its domain to a process
//! outside it, and the kernel checks reading `/proc/PID/fd` as one (measured on
//! Linux 6.18: with the ruleset on, no socket of another process had an owner, as root
//! with `CAP_SYS_PTRACE`). A Landlock domain, like capabilities, belongs to each
//! thread and is copied to the threads it starts. So the binary, after dropping
//! capabilities and before restricting itself, calls [`install`]: it starts one
//! spawner thread that stays outside the domain, and every thread the owner search
//! needs is started by it ([`spawn`], [`Worker`]) and so stays outside too, with
//! the same reduced capabilities and `no_new_privs`. Everything else — the runtime,
//! the capture, the exporters — writes only where the ruleset allows.
//!
//! This keeps netlens's own bugs from writing outside the allowed directories; it is
//! not a wall against code already running in the process, which shares memory with
//! the unconfined threads. Without [`install`] (tests, tools, runs that skip
//! Landlock) threads start directly, as any other.

use std::io;
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

/// A thread's body.
type Body = Box<dyn FnOnce() + Send + 'static>;

/// One request to the spawner: the thread's name and body, and where to say whether
/// it started.
struct SpawnRequest {
    name: String,
    body: Body,
    started: SyncSender<io::Result<()>>,
}

/// The spawner, once installed. The `Sender` is behind a mutex-free `OnceLock`:
/// `mpsc::Sender` is `Sync` since Rust 1.72.
static SPAWNER: OnceLock<Sender<SpawnRequest>> = OnceLock::new();

/// Start the spawner thread. Call it after the capability drop and before the
/// Landlock restriction, while the caller's thread is the one whose credentials the
/// unconfined threads should copy. A second call does nothing.
pub fn install() -> io::Result<()> {
    if SPAWNER.get().is_some() {
        return Ok(());
    }
    let (requests, queue) = mpsc::channel::<SpawnRequest>();
    std::thread::Builder::new().name("unconfined".to_owned()).spawn(move || serve(&queue))?;
    // Only this function sets it, and the binary calls it once from its main thread.
    let _ = SPAWNER.set(requests);
    Ok(())
}

/// Whether [`install`] ran: threads started by [`spawn`] are outside the domain.
#[must_use]
pub fn installed() -> bool {
    SPAWNER.get().is_some()
}

/// Start threads as they are asked for, until the process ends.
fn serve(queue: &Receiver<SpawnRequest>) {
    while let Ok(SpawnRequest { name, body, started }) = queue.recv() {
        let outcome = std::thread::Builder::new().name(name).spawn(body).map(drop);
        let _ = started.send(outcome);
    }
}

/// Start a detached thread named `name` running `body`: by the spawner when
/// installed (outside the Landlock domain), directly otherwise. Blocks until the
/// thread has started (or failed to).
pub fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> io::Result<()> {
    let Some(spawner) = SPAWNER.get() else {
        return std::thread::Builder::new().name(name.to_owned()).spawn(body).map(drop);
    };
    let (started, outcome) = mpsc::sync_channel(1);
    let request = SpawnRequest { name: name.to_owned(), body: Box::new(body), started };
    spawner.send(request).map_err(|_| io::Error::other("the unconfined spawner thread has ended"))?;
    outcome.recv().map_err(|_| io::Error::other("the unconfined spawner thread has ended"))?
}

/// One thread outside the domain that runs jobs in order, for an async source
/// whose blocking work reads `/proc/PID/fd` (where it would otherwise use
/// `spawn_blocking`, whose threads the runtime starts inside the domain). The
/// thread ends when the `Worker` is dropped.
#[derive(Debug)]
pub struct Worker {
    jobs: Sender<Body>,
    name: String,
}

/// The worker's thread is gone (it panicked in a job).
#[derive(Debug, thiserror::Error)]
#[error("the {0} worker thread has ended")]
pub struct WorkerGone(String);

impl Worker {
    /// Start a worker thread named `name`.
    pub fn start(name: &str) -> io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Body>();
        spawn(name, move || {
            while let Ok(job) = queue.recv() {
                job();
            }
        })?;
        Ok(Self { jobs, name: name.to_owned() })
    }

    /// Run `job` on the worker and await its result.
    pub async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, WorkerGone> {
        let (done, result) = tokio::sync::oneshot::channel();
        let body: Body = Box::new(move || {
            let _ = done.send(job());
        });
        let gone = || WorkerGone(self.name.clone());
        self.jobs.send(body).map_err(|_| gone())?;
        result.await.map_err(|_| gone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name of the thread a job ran on.
    fn thread_name() -> String {
        std::thread::current().name().unwrap_or_default().to_owned()
    }

    /// Without the spawner, threads start directly; with it, from the spawner; a
    /// worker runs its jobs on its own thread, in order, and returns their results.
    #[tokio::test]
    async fn threads_start_and_workers_run_jobs() {
        let (tx, rx) = mpsc::channel();
        spawn("direct", move || tx.send(thread_name()).unwrap_or(())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rx.recv().unwrap_or_default(), "direct");

        install().unwrap_or_else(|e| panic!("{e}"));
        assert!(installed());
        let (tx, rx) = mpsc::channel();
        spawn("through-spawner", move || tx.send(thread_name()).unwrap_or(()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rx.recv().unwrap_or_default(), "through-spawner");

        let worker = Worker::start("owner-worker").unwrap_or_else(|e| panic!("{e}"));
        let names = [worker.run(thread_name).await, worker.run(thread_name).await];
        for name in names {
            assert_eq!(name.unwrap_or_else(|e| panic!("{e}")), "owner-worker");
        }
        assert_eq!(worker.run(|| 6 * 7).await.unwrap_or_else(|e| panic!("{e}")), 42);
    }
}
