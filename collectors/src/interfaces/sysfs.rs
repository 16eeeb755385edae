//! What `/sys/class/net/NAME` says about a device, read through a small trait so
//! the kind derivation can be tested with fakes.
//!
//! sysfs shows the devices of the network namespace it was mounted in, which is not
//! necessarily the one being monitored; the facts are only trusted when the
//! directory's `ifindex` matches the index the kernel reported over netlink.

use std::collections::HashMap;
use std::path::Path;

/// Read access to `/sys/class/net/<interface>/<attribute>`.
pub(crate) trait SysfsView: Send + Sync {
    /// The attribute file's contents, if it exists and is readable.
    fn read(&self, interface: &str, attribute: &str) -> Option<String>;
    /// Whether the attribute (file or directory) exists.
    fn exists(&self, interface: &str, attribute: &str) -> bool;
}

/// The real `/sys/class/net`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemSysfs;

impl SystemSysfs {
    fn path(interface: &str, attribute: &str) -> Option<std::path::PathBuf> {
        // Interface names cannot contain '/', but never let one escape the directory.
        if interface.is_empty() || interface.contains('/') || interface == "." || interface == ".." {
            return None;
        }
        Some(Path::new("/sys/class/net").join(interface).join(attribute))
    }
}

impl SysfsView for SystemSysfs {
    fn read(&self, interface: &str, attribute: &str) -> Option<String> {
        std::fs::read_to_string(Self::path(interface, attribute)?).ok()
    }

    fn exists(&self, interface: &str, attribute: &str) -> bool {
        Self::path(interface, attribute).is_some_and(|path| path.exists())
    }
}

/// The sysfs facts the kind derivation uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SysfsFacts {
    /// `wireless/` exists (cfg80211 or wireless extensions).
    pub wireless: bool,
    /// `phy80211` exists (an 802.11 radio).
    pub phy80211: bool,
    /// `DEVTYPE=` from `uevent` (`wlan`, `wwan`, `bridge`, …).
    pub devtype: Option<String>,
    /// `tun_flags` of a tun-driver device (`IFF_TUN` / `IFF_TAP` bits).
    pub tun_flags: Option<u32>,
    /// `type`: the `ARPHRD_*` hardware type.
    pub arphrd: Option<u16>,
}

/// Gather the facts for `interface`. With `index`, nothing is trusted unless the
/// directory belongs to the device with that index (see the module doc).
pub(crate) fn facts(view: &dyn SysfsView, interface: &str, index: Option<u32>) -> SysfsFacts {
    if let Some(index) = index {
        let found = view.read(interface, "ifindex").and_then(|text| text.trim().parse::<u32>().ok());
        if found != Some(index) {
            return SysfsFacts::default();
        }
    }
    SysfsFacts {
        wireless: view.exists(interface, "wireless"),
        phy80211: view.exists(interface, "phy80211"),
        devtype: view.read(interface, "uevent").and_then(|uevent| devtype(&uevent)),
        tun_flags: view.read(interface, "tun_flags").and_then(|text| parse_hex(&text)),
        arphrd: view.read(interface, "type").and_then(|text| text.trim().parse().ok()),
    }
}

/// The index sysfs gives a device, for sources that have no other way to learn it.
pub(crate) fn index_of(view: &dyn SysfsView, interface: &str) -> Option<u32> {
    view.read(interface, "ifindex").and_then(|text| text.trim().parse().ok())
}

fn devtype(uevent: &str) -> Option<String> {
    uevent.lines().find_map(|line| line.strip_prefix("DEVTYPE=")).map(|value| value.trim().to_owned())
}

fn parse_hex(text: &str) -> Option<u32> {
    let text = text.trim();
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    u32::from_str_radix(digits, 16).ok()
}

/// Sysfs facts per interface index, so a re-read touches sysfs only for devices it
/// has not seen under that name before.
pub(crate) struct SysfsCache {
    view: Box<dyn SysfsView>,
    entries: HashMap<u32, (String, SysfsFacts)>,
}

impl std::fmt::Debug for SysfsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SysfsCache").field("entries", &self.entries.len()).finish_non_exhaustive()
    }
}

impl SysfsCache {
    /// A cache reading through `view`.
    pub(crate) fn new(view: Box<dyn SysfsView>) -> Self {
        Self { view, entries: HashMap::new() }
    }

    /// The facts for the device `index` now called `name`.
    pub(crate) fn facts(&mut self, index: u32, name: &str) -> &SysfsFacts {
        let view = self.view.as_ref();
        let read = || (name.to_owned(), facts(view, name, Some(index)));
        let entry = self.entries.entry(index).or_insert_with(read);
        if entry.0 != name {
            // Renamed: the old name's directory is gone (or is another device now).
            *entry = read();
        }
        &entry.1
    }

    /// Forget devices that no longer exist.
    pub(crate) fn retain(&mut self, mut present: impl FnMut(u32) -> bool) {
        self.entries.retain(|index, _| present(*index));
    }

    /// Forget one device.
    pub(crate) fn forget(&mut self, index: u32) {
        self.entries.remove(&index);
    }
}

#[cfg(test)]
pub(crate) mod fake {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::SysfsView;

    /// An in-memory `/sys/class/net`: `(interface, attribute) → contents`.
    #[derive(Debug, Default)]
    pub(crate) struct FakeSysfs {
        pub files: BTreeMap<(String, String), String>,
        pub reads: AtomicUsize,
    }

    impl FakeSysfs {
        pub(crate) fn with(mut self, interface: &str, attribute: &str, contents: &str) -> Self {
            self.files.insert((interface.to_owned(), attribute.to_owned()), contents.to_owned());
            self
        }
    }

    impl<T: SysfsView> SysfsView for std::sync::Arc<T> {
        fn read(&self, interface: &str, attribute: &str) -> Option<String> {
            self.as_ref().read(interface, attribute)
        }

        fn exists(&self, interface: &str, attribute: &str) -> bool {
            self.as_ref().exists(interface, attribute)
        }
    }

    impl SysfsView for FakeSysfs {
        fn read(&self, interface: &str, attribute: &str) -> Option<String> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            self.files.get(&(interface.to_owned(), attribute.to_owned())).cloned()
        }

        fn exists(&self, interface: &str, attribute: &str) -> bool {
            self.files.contains_key(&(interface.to_owned(), attribute.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeSysfs;
    use super::*;

    #[test]
    fn reads_the_facts_of_the_matching_device() {
        let sysfs = FakeSysfs::default()
            .with("wlan0", "ifindex", "3\n")
            .with("wlan0", "uevent", "DEVTYPE=wlan\nINTERFACE=wlan0\nIFINDEX=3\n")
            .with("wlan0", "phy80211", "")
            .with("wlan0", "type", "1\n")
            .with("tap0", "ifindex", "7\n")
            .with("tap0", "tun_flags", "0x1002\n");
        let wlan = facts(&sysfs, "wlan0", Some(3));
        assert_eq!(wlan.devtype.as_deref(), Some("wlan"));
        assert!(wlan.phy80211);
        assert!(!wlan.wireless);
        assert_eq!(wlan.arphrd, Some(1));
        assert_eq!(facts(&sysfs, "tap0", Some(7)).tun_flags, Some(0x1002));
    }

    #[test]
    fn another_namespace_device_of_the_same_name_is_ignored() {
        let sysfs = FakeSysfs::default().with("wlan0", "ifindex", "3\n").with("wlan0", "wireless", "");
        assert_eq!(facts(&sysfs, "wlan0", Some(9)), SysfsFacts::default());
        assert_eq!(facts(&sysfs, "missing", Some(1)), SysfsFacts::default());
    }

    #[test]
    fn hex_parsing_accepts_kernel_formats() {
        assert_eq!(parse_hex("0x1001\n"), Some(0x1001));
        assert_eq!(parse_hex("1002"), Some(0x1002));
        assert_eq!(parse_hex("zz"), None);
    }

    #[test]
    fn cache_reads_sysfs_once_per_name() {
        let sysfs = std::sync::Arc::new(FakeSysfs::default().with("eth0", "ifindex", "2\n"));
        let mut cache = SysfsCache::new(Box::new(std::sync::Arc::clone(&sysfs)));
        let _ = cache.facts(2, "eth0");
        let reads = sysfs.reads.load(std::sync::atomic::Ordering::Relaxed);
        let _ = cache.facts(2, "eth0");
        assert_eq!(sysfs.reads.load(std::sync::atomic::Ordering::Relaxed), reads);
        let _ = cache.facts(2, "wan0");
        assert_eq!(cache.entries.get(&2).map(|(name, _)| name.as_str()), Some("wan0"));
        cache.retain(|index| index != 2);
        assert!(cache.entries.is_empty());
    }
}
