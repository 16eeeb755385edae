//! The interfaces source: links, addresses, routes, policy rules and neighbours.
//!
//! Two backends fill the same model. [`Backend::Netlink`] dumps everything over
//! rtnetlink, then listens to the kernel's notifications: each one goes on the
//! timeline at once, phrased as what it changed, and a full re-read follows after a
//! short debounce. [`Backend::Portable`] polls `if-addrs` and sysinfo instead, for
//! systems (or sandboxes) without rtnetlink; it is chosen automatically when the
//! netlink socket cannot be opened.

mod kind;
pub(crate) mod known;
#[cfg(target_os = "linux")]
pub(crate) mod netlink;
mod phrase;
mod portable;
pub(crate) mod sysfs;

use std::time::Duration;

use crate::model::SourceId;
use crate::source::{EventSink, Source, SourceError};

/// Where interface facts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// rtnetlink: complete and live (Linux).
    #[default]
    Netlink,
    /// Polling `if-addrs` and sysinfo: addresses and counters only, no routes.
    Portable,
}

/// How the interfaces source runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfacesConfig {
    /// Which backend to use; `Netlink` falls back to `Portable` when rtnetlink cannot be opened.
    pub backend: Backend,
    /// How often counters are read (and the portable backend polls).
    pub refresh: Duration,
    /// How long after a notification the state is re-read; later notifications in that
    /// window do not postpone it.
    pub debounce: Duration,
    /// `SO_RCVBUF` for the notification socket; `None` keeps the kernel default.
    pub receive_buffer: Option<usize>,
    /// Why the portable backend was chosen (e.g. `--no-netlink`), shown in the status line.
    pub fallback_reason: Option<String>,
}

impl Default for InterfacesConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Netlink,
            refresh: Duration::from_secs(1),
            debounce: Duration::from_millis(150),
            receive_buffer: None,
            fallback_reason: None,
        }
    }
}

/// The shortest counter period honoured: a zero period would spin.
const MIN_REFRESH: Duration = Duration::from_millis(50);

impl InterfacesConfig {
    /// The counter period actually used.
    fn refresh_period(&self) -> Duration {
        self.refresh.max(MIN_REFRESH)
    }
}

/// The interfaces source; see the module documentation.
#[derive(Debug, Clone)]
pub struct InterfacesSource {
    config: InterfacesConfig,
    #[cfg(target_os = "linux")]
    kernel: Option<crate::kernel_view::KernelView>,
}

impl InterfacesSource {
    /// A source running with `config`. Without [`Self::with_kernel`] it starts a
    /// kernel view of its own (with `config.receive_buffer`) when it runs.
    #[must_use]
    pub const fn new(config: InterfacesConfig) -> Self {
        Self {
            config,
            #[cfg(target_os = "linux")]
            kernel: None,
        }
    }

    /// Read the network from the process's shared kernel view.
    #[cfg(target_os = "linux")]
    #[must_use]
    pub fn with_kernel(mut self, kernel: crate::kernel_view::KernelView) -> Self {
        self.kernel = Some(kernel);
        self
    }
}

/// The status line of the portable backend: which source is active and why.
fn portable_detail(reason: &str) -> String {
    format!("portable fallback (if-addrs + sysinfo): {reason}")
}

impl Source for InterfacesSource {
    fn id(&self) -> SourceId {
        SourceId::Interfaces
    }

    async fn run(&mut self, sink: &EventSink) -> Result<(), SourceError> {
        let config = &self.config;
        if config.backend == Backend::Portable {
            let reason = config.fallback_reason.as_deref().unwrap_or("selected in the configuration");
            return portable::run(config, &portable_detail(reason), sink).await;
        }
        #[cfg(target_os = "linux")]
        {
            let kernel = match &self.kernel {
                Some(kernel) => Ok(kernel.clone()),
                None => crate::kernel_view::KernelView::start(crate::kernel_view::KernelViewConfig {
                    receive_buffer: config.receive_buffer,
                    ..crate::kernel_view::KernelViewConfig::default()
                }),
            };
            match kernel {
                Ok(kernel) => netlink::run(&kernel, config, sink).await,
                Err(error) => {
                    tracing::warn!(%error, "rtnetlink unavailable; using the portable fallback");
                    let reason = format!("rtnetlink unavailable ({error})");
                    portable::run(config, &portable_detail(&reason), sink).await
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            portable::run(config, &portable_detail("rtnetlink needs Linux"), sink).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_design() {
        let config = InterfacesConfig::default();
        assert_eq!(config.backend, Backend::Netlink);
        assert_eq!(config.refresh, Duration::from_secs(1));
        assert_eq!(config.debounce, Duration::from_millis(150));
        assert_eq!(config.receive_buffer, None);
        let zero = InterfacesConfig { refresh: Duration::ZERO, ..config };
        assert_eq!(zero.refresh_period(), MIN_REFRESH);
    }

    #[test]
    fn portable_status_names_the_reason() {
        let detail = portable_detail("--no-netlink");
        assert_eq!(detail, "portable fallback (if-addrs + sysinfo): --no-netlink");
    }

    #[test]
    fn source_id_is_interfaces() {
        assert_eq!(InterfacesSource::new(InterfacesConfig::default()).id(), SourceId::Interfaces);
    }
}
