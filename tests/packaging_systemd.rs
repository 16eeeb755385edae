//! The daemon's systemd unit (`packaging/systemd/netlens.service`): systemd accepts it
//! (`systemd-analyze verify`), and its command line runs as the unit runs it — an
//! unprivileged user holding only the unit's ambient capabilities, writing only its
//! state directory — serving /healthz, recording a journal there, and keeping less than
//! it was given.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::daemon::{get, log_line, logging, serving_address, signal};
use common::netns::{REQUIRE_ENV, require_netns};
use common::peer::in_netns;

/// A user and group no account on the machine has (the unit's `DynamicUser=yes`).
const SERVICE_ID: u32 = 61_234;

fn unit_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/systemd/netlens.service")
}

fn unit() -> String {
    std::fs::read_to_string(unit_path()).unwrap_or_else(|e| panic!("{}: {e}", unit_path().display()))
}

/// The value of `key=` in the unit (the last one, as systemd reads a repeated key).
fn setting(unit: &str, key: &str) -> String {
    unit.lines()
        .filter_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .next_back()
        .unwrap_or_else(|| panic!("the unit has no {key}="))
        .trim()
        .to_owned()
}

/// Whether `program` runs; missing, the test skips with a message unless the REQUIRE
/// variable forbids it.
fn have(program: &str, allowed_missing: bool) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok_and(|out| out.status.success());
    if !found {
        assert!(
            allowed_missing || std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
            "{program} is not installed (and {REQUIRE_ENV}=1 forbids skipping)"
        );
        eprintln!("skipping: {program} is not installed");
    }
    found
}

/// systemd's own check of the unit, with the binary under test in place of
/// `/usr/bin/netlens`. Where systemd does not exist the test skips with a message,
/// which the REQUIRE variable allows (a CI machine need not have systemd).
#[test]
fn systemd_analyze_verifies_the_unit() {
    if !have("systemd-analyze", true) {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let copy = dir.path().join("netlens.service");
    let text = unit().replace("/usr/bin/netlens", env!("CARGO_BIN_EXE_netlens"));
    std::fs::write(&copy, text).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .current_dir(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("systemd-analyze: {e}"));
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.trim().is_empty(), "systemd-analyze verify:\n{said}");
}

/// The unit's `ExecStart=` as an unprivileged user with only its
/// `AmbientCapabilities=` (setpriv), in a namespace the test made: its files replaced
/// by the shipped config and a state directory of the user's, the port by one of the
/// kernel's choosing.
#[test]
fn the_units_command_serves_and_records_with_the_units_capabilities_alone() {
    let Some(netns) = require_netns() else { return };
    if !have("setpriv", false) {
        return;
    }
    netns.batch("link set lo up\n");
    let unit = unit();
    let capabilities: Vec<String> = setting(&unit, "AmbientCapabilities")
        .split_whitespace()
        .map(|cap| format!("+{}", cap.trim_start_matches("CAP_").to_ascii_lowercase()))
        .collect();
    assert_eq!(setting(&unit, "CapabilityBoundingSet"), setting(&unit, "AmbientCapabilities"));
    let capabilities = capabilities.join(",");

    // The state directory as systemd makes it: the service user's, mode 0700.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap_or_else(|e| panic!("{e}"));
    let chmod = |path: &Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("{e}"));
    };
    chmod(dir.path(), 0o711);
    chmod(&state, 0o700);
    std::os::unix::fs::chown(&state, Some(SERVICE_ID), Some(SERVICE_ID)).unwrap_or_else(|e| panic!("{e}"));

    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/debian/config.toml");
    let exec_start = setting(&unit, "ExecStart");
    let args: Vec<String> = exec_start
        .split_whitespace()
        .skip(1)
        .map(|arg| match arg {
            "/etc/netlens/config.toml" => config.display().to_string(),
            "/var/lib/netlens" => state.display().to_string(),
            "127.0.0.1:9464" => "127.0.0.1:0".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    assert!(args.iter().any(|arg| arg == "127.0.0.1:0"), "the unit's address changed: {exec_start}");
    let id = SERVICE_ID.to_string();
    // nsenter, not `ip netns exec`: that mounts a /sys without the cgroup hierarchy the
    // attribution programs attach to, which the unit's daemon has.
    let child = Command::new("nsenter")
        .arg(format!("--net={}", netns.path().display()))
        .args(["setpriv", "--reuid", &id, "--regid", &id, "--clear-groups"])
        .arg(format!("--inh-caps=-all,{capabilities}"))
        .arg(format!("--ambient-caps=-all,{capabilities}"))
        .arg(format!("--bounding-set=-all,{capabilities}"))
        .args(["env", "-i", "PATH=/usr/bin:/bin", "HOME=/"])
        .arg(env!("CARGO_BIN_EXE_netlens"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("setpriv: {e}"));
    let (daemon, lines) = logging(child);
    // Everything loaded with the unit's capabilities (the socket watch, attribution),
    // and then it kept less: no set-up capability, no_new_privs, writes only to its
    // state directory.
    let mut kept = String::new();
    while !kept.contains("privileges after set-up") {
        kept = log_line(&lines, "");
        assert!(!kept.contains("unavailable"), "with the unit's capabilities: {kept}");
    }
    for setup_only in ["cap_bpf", "cap_perfmon", "cap_net_admin"] {
        assert!(!kept.split("after set-up").next().unwrap_or_default().contains(setup_only), "{kept}");
    }
    assert!(kept.contains("no_new_privs set"), "{kept}");
    assert!(kept.contains(&format!("landlock: writes only to {}", state.display())), "{kept}");
    let address = serving_address(&lines);
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.0.id())).unwrap_or_default();
    let ids: Vec<&str> = status.lines().filter(|line| line.starts_with("Uid:")).collect();
    assert!(ids.iter().all(|line| line.contains(&id)), "{ids:?}");

    // /healthz through the namespace's loopback: the daemon listens there.
    let (code, health) = in_netns(&netns, move || get(address, "/healthz", "*/*"));
    assert_eq!((code, health.as_str()), (200, "ok\n"));

    // A journal segment in the state directory, the service user's, mode 0600.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let segment = loop {
        let found = std::fs::read_dir(&state)
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(Result::ok)
            .find(|entry| entry.file_name().to_string_lossy().ends_with(".nlj"));
        if let Some(entry) = found {
            break entry.path();
        }
        assert!(std::time::Instant::now() < deadline, "no journal segment in {}", state.display());
        std::thread::sleep(Duration::from_millis(100));
    };
    let meta = std::fs::metadata(&segment).unwrap_or_else(|e| panic!("{e}"));
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        assert_eq!((meta.uid(), meta.permissions().mode() & 0o777), (SERVICE_ID, 0o600));
    }
    signal(&daemon, nix::sys::signal::Signal::SIGTERM);
    let mut daemon = daemon;
    let exit = daemon.0.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(exit.success(), "{exit:?}");
}
