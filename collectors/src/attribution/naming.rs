//! A cgroup path in words: the systemd unit, or the container, that owns a socket.
//! Pure, so the UI can name what the snapshot carries (`cgroup` is the path).

/// The owner a cgroup v2 path names, most specific first: a container (Docker,
/// Podman, containerd/CRI-O under Kubernetes) where the path says so, else the
/// innermost systemd unit (`.service` or `.scope`), else `None` (the root, a slice,
/// a hand-made cgroup).
#[must_use]
pub fn cgroup_owner(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    for (index, part) in parts.iter().enumerate().rev() {
        if let Some(container) = container(part, parts.get(index.wrapping_sub(1)).copied()) {
            let pod = parts.iter().find_map(|part| pod(part));
            return Some(match pod {
                Some(pod) => format!("kubernetes pod {pod}, {container}"),
                None => container,
            });
        }
    }
    parts
        .iter()
        .rev()
        .find(|part| {
            let unit = std::path::Path::new(part);
            unit.extension().is_some_and(|extension| extension == "service" || extension == "scope")
        })
        .map(|unit| (*unit).to_owned())
}

/// A container id: 64 hex digits.
fn is_container_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// The first 12 digits, as `docker ps` shows them.
fn short(id: &str) -> &str {
    &id[..12]
}

/// `docker-<id>.scope`, `libpod-<id>.scope`, `cri-containerd-<id>.scope`,
/// `crio-<id>.scope`; or a bare `<id>` under `docker`, `libpod_parent`, or a pod.
fn container(part: &str, parent: Option<&str>) -> Option<String> {
    const RUNTIMES: [(&str, &str); 5] = [
        ("docker-", "docker"),
        ("libpod-", "podman"),
        ("cri-containerd-", "containerd"),
        ("crio-", "cri-o"),
        ("containerd-", "containerd"),
    ];
    let unit = part.strip_suffix(".scope").unwrap_or(part);
    for (prefix, runtime) in RUNTIMES {
        if let Some(id) = unit.strip_prefix(prefix)
            && is_container_id(id)
        {
            return Some(format!("{runtime} container {}", short(id)));
        }
    }
    if is_container_id(part) {
        let runtime = match parent {
            Some("docker") => "docker ",
            Some(parent) if parent.starts_with("libpod") => "podman ",
            _ => "",
        };
        return Some(format!("{runtime}container {}", short(part)));
    }
    None
}

/// The pod uid of `kubepods-burstable-pod<uid>.slice` or `pod<uid>` (cgroupfs
/// driver), with systemd's underscores back to dashes.
fn pod(part: &str) -> Option<String> {
    let unit = part.strip_suffix(".slice").unwrap_or(part);
    let uid = match unit.strip_prefix("pod") {
        Some(uid) => uid,
        None => &unit[unit.rfind("-pod")? + 4..],
    };
    (uid.len() >= 32 && uid.bytes().all(|byte| byte.is_ascii_hexdigit() || byte == b'_' || byte == b'-'))
        .then(|| uid.replace('_', "-"))
}

#[cfg(test)]
mod tests {
    use super::cgroup_owner;

    const ID: &str = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";

    #[test]
    fn names_units_and_containers() {
        let cases: [(String, Option<&str>); 13] = [
            ("/".to_owned(), None),
            ("/system.slice".to_owned(), None),
            ("/system.slice/nginx.service".to_owned(), Some("nginx.service")),
            ("/system.slice/systemd-resolved.service".to_owned(), Some("systemd-resolved.service")),
            (
                "/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-1234.scope".to_owned(),
                Some("app-firefox-1234.scope"),
            ),
            ("/user.slice/user-1000.slice/session-2.scope".to_owned(), Some("session-2.scope")),
            (format!("/system.slice/docker-{ID}.scope"), Some("docker container 3f4e5d6c7b8a")),
            (format!("/docker/{ID}"), Some("docker container 3f4e5d6c7b8a")),
            (format!("/machine.slice/libpod-{ID}.scope/container"), Some("podman container 3f4e5d6c7b8a")),
            (
                format!(
                    "/kubepods.slice/kubepods-burstable.slice/\
                     kubepods-burstable-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789.slice/cri-containerd-{ID}.scope"
                ),
                Some(
                    "kubernetes pod 0a1b2c3d-4e5f-6789-abcd-ef0123456789, containerd container 3f4e5d6c7b8a",
                ),
            ),
            (
                format!("/kubepods/burstable/pod0a1b2c3d-4e5f-6789-abcd-ef0123456789/{ID}"),
                Some("kubernetes pod 0a1b2c3d-4e5f-6789-abcd-ef0123456789, container 3f4e5d6c7b8a"),
            ),
            (format!("/system.slice/crio-{ID}.scope"), Some("cri-o container 3f4e5d6c7b8a")),
            ("/netlens-test/docker-notanid.scope".to_owned(), Some("docker-notanid.scope")),
        ];
        for (path, expected) in cases {
            assert_eq!(cgroup_owner(&path).as_deref(), expected, "{path}");
        }
    }
}
