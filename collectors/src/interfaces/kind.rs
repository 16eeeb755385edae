//! The functional type of an interface (DESIGN.md §4), derived from what the kernel
//! and sysfs say about it. Most specific fact first: the loopback flag, then the
//! link kind a virtual device was created with, then what sysfs knows about the
//! hardware (Wi-Fi, WWAN, tun flags), and only then the hardware address type, which
//! says "Ethernet" for Wi-Fi, veth, bridges and USB tethering alike.

use crate::model::InterfaceKind;

use super::sysfs::SysfsFacts;

/// `ARPHRD_*` hardware types from `<linux/if_arp.h>` that say something about the kind.
mod arphrd {
    pub const ETHER: u16 = 1;
    pub const PPP: u16 = 512;
    pub const RAWIP: u16 = 519;
    pub const TUNNEL: u16 = 768;
    pub const TUNNEL6: u16 = 769;
    pub const LOOPBACK: u16 = 772;
    pub const SIT: u16 = 776;
    pub const IPGRE: u16 = 778;
    pub const IEEE80211: u16 = 801;
    pub const IEEE80211_PRISM: u16 = 802;
    pub const IEEE80211_RADIOTAP: u16 = 803;
    pub const IP6GRE: u16 = 823;
    pub const NONE: u16 = 0xfffe;
}

/// `IFF_TUN` / `IFF_TAP`, as found in `IFLA_TUN_TYPE` and sysfs `tun_flags`.
const IFF_TUN: u32 = 0x0001;
const IFF_TAP: u32 = 0x0002;

/// Everything the kind is derived from, gathered by the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KindFacts<'a> {
    /// `IFLA_INFO_KIND` (`veth`, `tun`, `wireguard`, …), for virtual devices.
    pub link_kind: Option<&'a str>,
    /// `IFLA_TUN_TYPE` from the tun device's info data (`IFF_TUN` or `IFF_TAP`).
    pub tun_type: Option<u32>,
    /// `IFF_LOOPBACK` is set.
    pub loopback: bool,
    /// The `ARPHRD_*` hardware type, if known.
    pub arphrd: Option<u16>,
    /// What sysfs says about the device.
    pub sysfs: &'a SysfsFacts,
}

/// The functional type: the most specific fact wins.
pub(crate) fn functional_kind(facts: &KindFacts<'_>) -> InterfaceKind {
    let arphrd = facts.arphrd.or(facts.sysfs.arphrd);
    if facts.loopback || arphrd == Some(arphrd::LOOPBACK) {
        return InterfaceKind::Loopback;
    }
    if let Some(link_kind) = facts.link_kind {
        // A virtual device's link kind is definitive; one we have no name for is
        // still not Ethernet, whatever its hardware type claims.
        return from_link_kind(link_kind, facts, arphrd).unwrap_or(InterfaceKind::Other);
    }
    if let Some(kind) = from_sysfs(facts.sysfs) {
        return kind;
    }
    arphrd.map_or(InterfaceKind::Other, from_arphrd)
}

fn from_link_kind(link_kind: &str, facts: &KindFacts<'_>, arphrd: Option<u16>) -> Option<InterfaceKind> {
    Some(match link_kind {
        "veth" | "netkit" => InterfaceKind::Veth,
        "tun" => tun_or_tap(facts.tun_type.or(facts.sysfs.tun_flags), arphrd),
        "wireguard" => InterfaceKind::Wireguard,
        "bridge" => InterfaceKind::Bridge,
        "vlan" => InterfaceKind::Vlan,
        "bond" | "team" => InterfaceKind::Bond,
        "ppp" => InterfaceKind::Ppp,
        "virt_wifi" => InterfaceKind::Wifi,
        "wwan" | "rmnet" => InterfaceKind::Cellular,
        // Layer-3 tunnels carry traffic the way a tun device does.
        "ipip" | "sit" | "gre" | "ip6gre" | "ip6tnl" | "vti" | "vti6" | "xfrm" => InterfaceKind::Tun,
        // Layer-2 tunnels carry Ethernet frames, the way a tap device does.
        "gretap" | "ip6gretap" | "vxlan" | "geneve" | "erspan" | "ip6erspan" => InterfaceKind::Tap,
        _ => return None,
    })
}

/// A tun-driver device is a tap when its flags say so, or when it carries Ethernet
/// frames; otherwise it is a layer-3 tun.
fn tun_or_tap(flags: Option<u32>, arphrd: Option<u16>) -> InterfaceKind {
    match flags {
        Some(flags) if flags & IFF_TAP != 0 => InterfaceKind::Tap,
        Some(flags) if flags & IFF_TUN != 0 => InterfaceKind::Tun,
        _ if arphrd == Some(arphrd::ETHER) => InterfaceKind::Tap,
        _ => InterfaceKind::Tun,
    }
}

fn from_sysfs(sysfs: &SysfsFacts) -> Option<InterfaceKind> {
    match sysfs.devtype.as_deref() {
        Some("wlan") => return Some(InterfaceKind::Wifi),
        Some("wwan") => return Some(InterfaceKind::Cellular),
        Some("bridge") => return Some(InterfaceKind::Bridge),
        Some("vlan") => return Some(InterfaceKind::Vlan),
        Some("bond") => return Some(InterfaceKind::Bond),
        Some("wireguard") => return Some(InterfaceKind::Wireguard),
        Some("ppp") => return Some(InterfaceKind::Ppp),
        _ => {}
    }
    if sysfs.wireless || sysfs.phy80211 {
        return Some(InterfaceKind::Wifi);
    }
    sysfs.tun_flags.map(|flags| tun_or_tap(Some(flags), sysfs.arphrd))
}

fn from_arphrd(arphrd: u16) -> InterfaceKind {
    match arphrd {
        arphrd::ETHER => InterfaceKind::Ethernet,
        arphrd::LOOPBACK => InterfaceKind::Loopback,
        arphrd::PPP => InterfaceKind::Ppp,
        arphrd::IEEE80211 | arphrd::IEEE80211_PRISM | arphrd::IEEE80211_RADIOTAP => InterfaceKind::Wifi,
        // Raw-IP is what modem drivers (qmi_wwan, rmnet) present.
        arphrd::RAWIP => InterfaceKind::Cellular,
        // No hardware header at all: a layer-3 device such as tun or a VPN.
        arphrd::NONE | arphrd::TUNNEL | arphrd::TUNNEL6 | arphrd::SIT | arphrd::IPGRE | arphrd::IP6GRE => {
            InterfaceKind::Tun
        }
        _ => InterfaceKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (case, link kind, tun type, loopback flag, hardware type, sysfs, expected)
    type Case<'a> = (&'a str, Option<&'a str>, Option<u32>, bool, Option<u16>, &'a SysfsFacts, InterfaceKind);

    fn sysfs(devtype: Option<&str>, wireless: bool, phy: bool, tun_flags: Option<u32>) -> SysfsFacts {
        SysfsFacts { wireless, phy80211: phy, devtype: devtype.map(str::to_owned), tun_flags, arphrd: None }
    }

    #[test]
    fn most_specific_fact_wins() {
        let none = SysfsFacts::default();
        let wifi_uevent = sysfs(Some("wlan"), false, false, None);
        let wireless_dir = sysfs(None, true, false, None);
        let phy = sysfs(None, false, true, None);
        let modem_uevent = sysfs(Some("wwan"), false, false, None);
        let tap_flags = sysfs(None, false, false, Some(0x1002));
        let tun_flags = sysfs(None, false, false, Some(0x1001));
        let ether = Some(arphrd::ETHER);
        #[rustfmt::skip]
        let cases: &[Case<'_>] = &[
            ("loopback flag", None, None, true, Some(arphrd::LOOPBACK), &none, InterfaceKind::Loopback),
            ("loopback type without flag", None, None, false, Some(arphrd::LOOPBACK), &none, InterfaceKind::Loopback),
            ("plain ethernet", None, None, false, ether, &none, InterfaceKind::Ethernet),
            ("wifi by devtype", None, None, false, ether, &wifi_uevent, InterfaceKind::Wifi),
            ("wifi by wireless dir", None, None, false, ether, &wireless_dir, InterfaceKind::Wifi),
            ("wifi by phy80211", None, None, false, ether, &phy, InterfaceKind::Wifi),
            ("wwan by devtype", None, None, false, Some(arphrd::NONE), &modem_uevent, InterfaceKind::Cellular),
            ("veth looks like ethernet", Some("veth"), None, false, ether, &none, InterfaceKind::Veth),
            ("tun by info type", Some("tun"), Some(1), false, Some(arphrd::NONE), &none, InterfaceKind::Tun),
            ("tap by info type", Some("tun"), Some(2), false, ether, &none, InterfaceKind::Tap),
            ("tap by sysfs flags", Some("tun"), None, false, None, &tap_flags, InterfaceKind::Tap),
            ("tun by sysfs flags", Some("tun"), None, false, None, &tun_flags, InterfaceKind::Tun),
            ("tap by hardware type", Some("tun"), None, false, ether, &none, InterfaceKind::Tap),
            ("tun by hardware type", Some("tun"), None, false, Some(arphrd::NONE), &none, InterfaceKind::Tun),
            ("tun without kind, sysfs flags", None, None, false, Some(arphrd::NONE), &tun_flags, InterfaceKind::Tun),
            ("wireguard", Some("wireguard"), None, false, Some(arphrd::NONE), &none, InterfaceKind::Wireguard),
            ("bridge", Some("bridge"), None, false, ether, &none, InterfaceKind::Bridge),
            ("vlan", Some("vlan"), None, false, ether, &none, InterfaceKind::Vlan),
            ("bond", Some("bond"), None, false, ether, &none, InterfaceKind::Bond),
            ("ppp kind", Some("ppp"), None, false, Some(arphrd::PPP), &none, InterfaceKind::Ppp),
            ("ppp by hardware type", None, None, false, Some(arphrd::PPP), &none, InterfaceKind::Ppp),
            ("gre is a layer-3 tunnel", Some("gre"), None, false, Some(arphrd::IPGRE), &none, InterfaceKind::Tun),
            ("vxlan is a layer-2 tunnel", Some("vxlan"), None, false, ether, &none, InterfaceKind::Tap),
            ("unknown kind is not ethernet", Some("dummy"), None, false, ether, &none, InterfaceKind::Other),
            ("kind beats sysfs", Some("veth"), None, false, ether, &wifi_uevent, InterfaceKind::Veth),
            ("no header is layer 3", None, None, false, Some(arphrd::NONE), &none, InterfaceKind::Tun),
            ("raw ip is a modem", None, None, false, Some(arphrd::RAWIP), &none, InterfaceKind::Cellular),
            ("802.11 monitor type", None, None, false, Some(arphrd::IEEE80211_RADIOTAP), &none, InterfaceKind::Wifi),
            ("unknown hardware", None, None, false, Some(0x0123), &none, InterfaceKind::Other),
            ("nothing known", None, None, false, None, &none, InterfaceKind::Other),
        ];
        for &(name, link_kind, tun_type, loopback, arphrd, sysfs, want) in cases {
            let facts = KindFacts { link_kind, tun_type, loopback, arphrd, sysfs };
            assert_eq!(functional_kind(&facts), want, "{name}");
        }
    }

    #[test]
    fn sysfs_hardware_type_is_used_when_the_kernel_gave_none() {
        let facts = SysfsFacts { arphrd: Some(arphrd::ETHER), ..SysfsFacts::default() };
        let kind = functional_kind(&KindFacts {
            link_kind: None,
            tun_type: None,
            loopback: false,
            arphrd: None,
            sysfs: &facts,
        });
        assert_eq!(kind, InterfaceKind::Ethernet);
    }
}
