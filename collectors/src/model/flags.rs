//! Small typed flag sets for links and addresses, serialised as lists of kernel names.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _, ser::SerializeSeq};

macro_rules! flag_set {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $flag:ident = $bit:expr => $label:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub u32);

        impl $name {
            $($(#[$fmeta])* pub const $flag: Self = Self($bit);)*

            /// Every known flag with its kernel name, in display order.
            pub const ALL: &'static [(Self, &'static str)] = &[$((Self::$flag, $label),)*];

            /// Whether every bit of `other` is set in `self`.
            #[must_use]
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// `self` with the bits of `other` set too.
            #[must_use]
            pub const fn with(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }

            /// The names of the set flags, in display order.
            pub fn names(self) -> impl Iterator<Item = &'static str> {
                Self::ALL
                    .iter()
                    .filter(move |(flag, _)| self.contains(*flag))
                    .map(|(_, label)| *label)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(None)?;
                for name in self.names() {
                    seq.serialize_element(name)?;
                }
                seq.end()
            }
        }

        impl<'de> Deserialize<'de> for $name {
            /// The list of names back into bits; a name this build does not know is an
            /// error rather than a silently dropped flag.
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let names = Vec::<Cow<'de, str>>::deserialize(deserializer)?;
                names.iter().try_fold(Self::default(), |flags, name| {
                    Self::ALL
                        .iter()
                        .find(|(_, label)| *label == name.as_ref())
                        .map(|(flag, _)| flags.with(*flag))
                        .ok_or_else(|| D::Error::custom(format_args!("unknown {} name {name:?}", stringify!($name))))
                })
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let names: Vec<&str> = Self::ALL.iter().map(|(_, label)| *label).collect();
                json_schema!({ "type": "array", "uniqueItems": true, "items": { "type": "string", "enum": names } })
            }
        }
    };
}

flag_set! {
    /// Link flags (`IFF_*` from `<linux/if.h>`), with the kernel's bit values.
    LinkFlags {
        /// Administratively up.
        UP = 0x1 => "up",
        /// Broadcast address valid.
        BROADCAST = 0x2 => "broadcast",
        /// Loopback device.
        LOOPBACK = 0x8 => "loopback",
        /// Point-to-point link.
        POINTOPOINT = 0x10 => "pointopoint",
        /// Resources allocated, operational per RFC 2863.
        RUNNING = 0x40 => "running",
        /// No ARP protocol.
        NOARP = 0x80 => "noarp",
        /// Receives all packets.
        PROMISC = 0x100 => "promisc",
        /// Receives all multicast packets.
        ALLMULTI = 0x200 => "allmulti",
        /// Bonding master.
        MASTER = 0x400 => "master",
        /// Bonding slave.
        SLAVE = 0x800 => "slave",
        /// Supports multicast.
        MULTICAST = 0x1000 => "multicast",
        /// Driver signals L1 up (carrier).
        LOWER_UP = 0x10000 => "lower_up",
        /// Driver signals dormant.
        DORMANT = 0x20000 => "dormant",
    }
}

flag_set! {
    /// Address flags (`IFA_F_*` from `<linux/if_addr.h>`), with the kernel's bit values,
    /// except that the kernel's `0x01` means "secondary" for IPv4 and "temporary" for
    /// IPv6: collectors set [`AddressFlags::TEMPORARY`] (a bit the kernel leaves unused)
    /// for the IPv6 meaning, so the name is right without knowing the family.
    AddressFlags {
        /// Secondary (alias) IPv4 address.
        SECONDARY = 0x01 => "secondary",
        /// Duplicate address detection is not performed.
        NODAD = 0x02 => "nodad",
        /// Optimistic DAD (RFC 4429).
        OPTIMISTIC = 0x04 => "optimistic",
        /// Duplicate address detection failed: the address is unusable.
        DADFAILED = 0x08 => "dadfailed",
        /// Mobile IPv6 home address.
        HOMEADDRESS = 0x10 => "home",
        /// Preferred lifetime expired: usable, not chosen as a source.
        DEPRECATED = 0x20 => "deprecated",
        /// Duplicate address detection still running: not yet usable.
        TENTATIVE = 0x40 => "tentative",
        /// Static, no lifetime.
        PERMANENT = 0x80 => "permanent",
        /// Template for temporary addresses.
        MANAGETEMPADDR = 0x100 => "mngtmpaddr",
        /// Do not create a prefix route.
        NOPREFIXROUTE = 0x200 => "noprefixroute",
        /// Joined multicast automatically.
        MCAUTOJOIN = 0x400 => "autojoin",
        /// Stable privacy address.
        STABLE_PRIVACY = 0x800 => "stable-privacy",
        /// IPv6 privacy-extension temporary address (netlens's own bit; see above).
        TEMPORARY = 0x8000_0000 => "temporary",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_bits() {
        let flags = LinkFlags::UP.with(LinkFlags::LOWER_UP);
        assert_eq!(flags.names().collect::<Vec<_>>(), ["up", "lower_up"]);
        assert!(flags.contains(LinkFlags::UP));
        assert!(!flags.contains(LinkFlags::LOOPBACK));
    }

    #[test]
    fn serialises_as_list() {
        let flags = AddressFlags::TENTATIVE.with(AddressFlags::PERMANENT);
        let json = serde_json::to_string(&flags).unwrap_or_default();
        assert_eq!(json, r#"["tentative","permanent"]"#);
    }
}
