//! Starting the collector sources the settings ask for.

use std::time::Duration;

use netlens_collectors::Event;
use netlens_collectors::demo::DemoSource;
use netlens_collectors::interfaces::{Backend, InterfacesConfig, InterfacesSource};
use netlens_collectors::source::spawn_supervised;
use netlens_collectors::system::SystemSource;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::Settings;

/// Events buffered between the sources and the app task before sources wait.
const CHANNEL_CAPACITY: usize = 1024;

/// The running sources and the receiving end of their events.
pub struct Collectors {
    /// Events from every source, in arrival order.
    pub events: mpsc::Receiver<Event>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Collectors {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Start the sources on the current runtime, sampling every `refresh`.
pub fn start(settings: &Settings, refresh: Duration) -> Collectors {
    let (tx, events) = mpsc::channel(CHANNEL_CAPACITY);
    let mut tasks = Vec::new();
    if settings.demo {
        tasks.push(spawn_supervised(DemoSource::new(refresh), tx));
    } else {
        let interfaces = InterfacesConfig {
            backend: if settings.netlink { Backend::Netlink } else { Backend::Portable },
            refresh,
            debounce: settings.debounce,
            receive_buffer: None,
            fallback_reason: settings.netlink_off_reason.clone(),
        };
        tasks.push(spawn_supervised(InterfacesSource::new(interfaces), tx.clone()));
        tasks.push(spawn_supervised(SystemSource::new(refresh, settings.netns.clone()), tx));
    }
    Collectors { events, tasks }
}
