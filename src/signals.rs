//! SIGINT and SIGTERM as a way to end a headless run early and keep its work:
//! `snapshot` and `doctor` write what they collected, `record` closes its journal.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Which signal ended the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Stop {
    /// How a journal's end frame and the summary say it.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Interrupt => "interrupted (SIGINT)",
            Self::Terminate => "terminated (SIGTERM)",
        }
    }
}

/// SIGINT and SIGTERM, when their handlers could be installed.
pub struct StopSignals {
    interrupt: Option<Signal>,
    terminate: Option<Signal>,
}

impl StopSignals {
    /// Handle both signals from now on.
    pub fn install() -> Self {
        // Without a handler the default action (exit) still stops the process, so a
        // failure to install one loses nothing but the early write.
        Self {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Resolves when either signal arrives; never when neither handler exists.
    pub async fn received(&mut self) -> Stop {
        let interrupt = async {
            match self.interrupt.as_mut() {
                Some(signal) => signal.recv().await,
                None => std::future::pending().await,
            }
        };
        let terminate = async {
            match self.terminate.as_mut() {
                Some(signal) => signal.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = interrupt => Stop::Interrupt,
            _ = terminate => Stop::Terminate,
        }
    }
}
