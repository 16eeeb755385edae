//! Where the resolver configuration lives and how it is loaded: the files glibc
//! reads, the stub's real upstreams, and the warnings only the running system can
//! give (a nameserver without a route).

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::config::{parse_gai_conf, parse_hosts, parse_nsswitch_hosts, parse_resolv_conf};
use crate::model::{DnsConfigReport, HostsEntry, ResolverConfig, RouteType};
use crate::paths::lookup::{LookupError, RouteAnswer, RouteLookup, RouteQuery};

/// The files that decide how names resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverFiles {
    /// `/etc/resolv.conf`.
    pub resolv_conf: PathBuf,
    /// systemd-resolved's list of real upstreams, `/run/systemd/resolve/resolv.conf`.
    pub resolved_conf: PathBuf,
    /// `/etc/nsswitch.conf`.
    pub nsswitch: PathBuf,
    /// `/etc/hosts`.
    pub hosts: PathBuf,
    /// `/etc/gai.conf`.
    pub gai: PathBuf,
}

impl Default for ResolverFiles {
    fn default() -> Self {
        Self::under(Path::new("/"))
    }
}

impl ResolverFiles {
    /// The files below `root` (`/` for the system's).
    #[must_use]
    pub fn under(root: &Path) -> Self {
        Self {
            resolv_conf: root.join("etc/resolv.conf"),
            resolved_conf: root.join("run/systemd/resolve/resolv.conf"),
            nsswitch: root.join("etc/nsswitch.conf"),
            hosts: root.join("etc/hosts"),
            gai: root.join("etc/gai.conf"),
        }
    }

    /// What `ip netns exec NAME` shows a program: each file of `/etc/netns/NAME/`
    /// in place of its `/etc` namesake, where it exists.
    #[must_use]
    pub fn for_netns(name: &str) -> Self {
        let mut files = Self::default();
        let dir = Path::new("/etc/netns").join(name);
        for path in [&mut files.resolv_conf, &mut files.nsswitch, &mut files.hosts, &mut files.gai] {
            if let Some(file) = path.file_name() {
                let replacement = dir.join(file);
                if replacement.exists() {
                    *path = replacement;
                }
            }
        }
        files
    }

    /// Every file, in the order read.
    #[must_use]
    pub fn all(&self) -> [&Path; 5] {
        [&self.resolv_conf, &self.resolved_conf, &self.nsswitch, &self.hosts, &self.gai]
    }
}

/// The configuration as loaded, with the hosts file the trace compares against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loaded {
    /// Configuration and warnings.
    pub report: DnsConfigReport,
    /// `/etc/hosts` entries.
    pub hosts: Vec<HostsEntry>,
}

/// Read a file; `Ok(None)` when it does not exist.
fn read(path: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Load every file. Blocking (small file reads).
#[must_use]
pub fn load(files: &ResolverFiles) -> Loaded {
    let resolv = files.resolv_conf.display().to_string();
    let (mut config, mut warnings) = match read(&files.resolv_conf) {
        Ok(Some(text)) => {
            let parsed = parse_resolv_conf(&resolv, &text);
            (parsed.config, parsed.warnings)
        }
        Ok(None) => (
            ResolverConfig::default(),
            vec![format!(
                "{resolv} does not exist: glibc asks 127.0.0.1 with no search list; create it with a `nameserver` line"
            )],
        ),
        Err(error) => (
            ResolverConfig::default(),
            vec![format!("cannot read {resolv}: {error}; glibc would ask 127.0.0.1 — check its permissions")],
        ),
    };
    if config.stub {
        let resolved = files.resolved_conf.display().to_string();
        match read(&files.resolved_conf) {
            Ok(Some(text)) => {
                let parsed = parse_resolv_conf(&resolved, &text);
                config.upstreams = parsed.config.nameservers;
                config.sources.push(resolved);
                if config.upstreams.is_empty() {
                    warnings.push(format!(
                        "{} is systemd-resolved's stub, and {} lists no upstream server: check `resolvectl status`",
                        config.nameservers.first().map(ToString::to_string).unwrap_or_default(),
                        files.resolved_conf.display()
                    ));
                }
            }
            Ok(None) => warnings.push(format!(
                "the nameserver is a local stub but {resolved} does not exist: its upstreams are unknown (is systemd-resolved running?)"
            )),
            Err(error) => warnings.push(format!("cannot read {resolved}: {error}; the stub's upstreams are unknown")),
        }
    }
    match read(&files.nsswitch) {
        Ok(Some(text)) => {
            config.hosts_order = parse_nsswitch_hosts(&text);
            config.sources.push(files.nsswitch.display().to_string());
        }
        Ok(None) => {}
        Err(error) => warnings.push(format!("cannot read {}: {error}", files.nsswitch.display())),
    }
    let hosts = match read(&files.hosts) {
        Ok(Some(text)) => {
            config.sources.push(files.hosts.display().to_string());
            parse_hosts(&text)
        }
        Ok(None) => Vec::new(),
        Err(error) => {
            warnings.push(format!("cannot read {}: {error}", files.hosts.display()));
            Vec::new()
        }
    };
    match read(&files.gai) {
        Ok(Some(text)) => {
            let gai = files.gai.display().to_string();
            let (rules, gai_warnings) = parse_gai_conf(&gai, &text);
            config.gai_rules = rules;
            warnings.extend(gai_warnings);
            config.sources.push(gai);
        }
        Ok(None) => {}
        Err(error) => warnings.push(format!("cannot read {}: {error}", files.gai.display())),
    }
    Loaded { report: DnsConfigReport { config, warnings }, hosts }
}

/// `loaded` with [`route_warnings`] added, for one-shot commands (the live DNS
/// source asks the kernel view instead); without rtnetlink there are just none.
/// Blocking.
#[must_use]
pub fn with_route_warnings(mut loaded: Loaded) -> Loaded {
    match RouteLookup::open() {
        Ok(mut lookup) => {
            let answers = lookup.lookup_many(&nameserver_queries(&loaded.report.config));
            let warnings = route_warnings(&loaded.report.config, &answers);
            loaded.report.warnings.extend(warnings);
        }
        Err(error) => tracing::debug!(%error, "no route lookups for the nameservers"),
    }
    loaded
}

/// The servers whose routes matter: every nameserver, then every stub upstream.
fn servers(config: &ResolverConfig) -> impl Iterator<Item = (&IpAddr, &'static str)> {
    config
        .nameservers
        .iter()
        .map(|ip| (ip, "nameserver"))
        .chain(config.upstreams.iter().map(|ip| (ip, "upstream")))
}

/// The route lookups [`route_warnings`] judges, in its order.
#[must_use]
pub fn nameserver_queries(config: &ResolverConfig) -> Vec<RouteQuery> {
    servers(config).map(|(ip, _)| RouteQuery::new(*ip)).collect()
}

/// A warning for every nameserver (and stub upstream) the kernel has no usable route
/// to: queries to it fail at once or vanish. `answers` are the kernel's answers to
/// [`nameserver_queries`], in order.
#[must_use]
pub fn route_warnings(config: &ResolverConfig, answers: &[Result<RouteAnswer, LookupError>]) -> Vec<String> {
    let mut warnings = Vec::new();
    for ((server, role), answer) in servers(config).zip(answers) {
        let problem = match answer {
            Ok(answer) => match answer.route_type {
                RouteType::Unicast | RouteType::Local => None,
                other => Some(format!("the route to it is {}", other.as_str())),
            },
            Err(error) => Some(error.to_string()),
        };
        if let Some(problem) = problem {
            warnings.push(format!(
                "{role} {server} has no route: {problem}; queries to it cannot leave this host — fix the routing or the server list"
            ));
        }
    }
    warnings
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests: a panic is the failure report")]
mod tests {
    use super::*;

    fn root_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        root
    }

    #[test]
    fn a_stub_reads_the_real_upstreams() {
        let root = root_with(&[
            ("etc/resolv.conf", "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n"),
            ("run/systemd/resolve/resolv.conf", "nameserver 192.0.2.1\nnameserver 2001:db8::1\n"),
            ("etc/nsswitch.conf", "hosts: files resolve [!UNAVAIL=return] dns\n"),
            ("etc/hosts", "127.0.0.1 localhost\n"),
        ]);
        let loaded = load(&ResolverFiles::under(root.path()));
        let config = &loaded.report.config;
        assert!(config.stub);
        assert_eq!(config.upstreams.len(), 2);
        assert_eq!(config.hosts_order, ["files", "resolve", "dns"]);
        assert_eq!(config.sources.len(), 4, "{:?}", config.sources);
        assert_eq!(loaded.hosts.len(), 1);
        assert!(loaded.report.warnings.is_empty(), "{:?}", loaded.report.warnings);
    }

    #[test]
    fn missing_files_are_warnings_with_a_fix() {
        let root = root_with(&[("etc/hosts", "")]);
        let loaded = load(&ResolverFiles::under(root.path()));
        let warnings = loaded.report.warnings.join("\n");
        assert!(warnings.contains("resolv.conf does not exist"), "{warnings}");
        assert!(warnings.contains("create it with a `nameserver` line"), "{warnings}");
        let root = root_with(&[("etc/resolv.conf", "nameserver 127.0.0.53\n")]);
        let loaded = load(&ResolverFiles::under(root.path()));
        assert!(
            loaded.report.warnings.iter().any(|w| w.contains("upstreams are unknown")),
            "{:?}",
            loaded.report.warnings
        );
    }

    #[test]
    fn netns_files_replace_only_those_that_exist() {
        let files = ResolverFiles::for_netns("netlens-test-no-such-namespace");
        assert_eq!(files, ResolverFiles::default());
    }
}
