//! The built-in provider profiles: param files in `params/`, compiled in.
//! `<provider>NAME` (or `--provider NAME`) reads one before the user's
//! files, which override it tag by tag.

/// One built-in profile.
#[derive(Debug)]
pub struct Profile {
    pub name: &'static str,
    /// One line for `ctibridge profiles`.
    pub summary: &'static str,
    /// The param file, as in `params/NAME.txt`.
    pub text: &'static str,
}

impl Profile {
    /// The path shown in diagnostics and `check`.
    pub fn path(&self) -> String {
        format!("(built-in) params/{}.txt", self.name)
    }
}

pub static PROFILES: &[Profile] = &[
    Profile {
        name: "keyyo",
        summary: "Keyyo: makecall/sendsms/setprofil with Digest or source-address authentication",
        text: include_str!("../../../params/keyyo.txt"),
    },
    Profile {
        name: "ovh",
        summary: "OVH: click-to-call through the signed OVH API; incoming calls from the events v1 long poll",
        text: include_str!("../../../params/ovh.txt"),
    },
    Profile {
        name: "ovh-v2",
        summary: "OVH with the events v2 sessions (made, subscribed, polled, remade when dropped)",
        text: include_str!("../../../params/ovh-v2.txt"),
    },
    Profile {
        name: "ovh-click2calluser",
        summary: "OVH with a click-to-call user's login instead of API keys on the desk",
        text: include_str!("../../../params/ovh-click2calluser.txt"),
    },
];

/// What to say of a profile name that is none: the closest name, else
/// the list of them.
pub fn help_for_unknown(name: &str) -> String {
    match crate::diag::did_you_mean(name.trim(), PROFILES.iter().map(|p| p.name)) {
        Some(g) => format!("did you mean `{g}`?"),
        None => format!(
            "the built-in profiles are: {}",
            PROFILES
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A profile by name, case-insensitively.
pub fn lookup(name: &str) -> Option<&'static Profile> {
    PROFILES
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
}
