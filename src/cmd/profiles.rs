//! `ctibridge profiles`.

use ctibridge::exit::Exit;

use crate::cli::ProfilesAction;

pub(crate) fn profiles(action: Option<ProfilesAction>) -> Exit {
    use ctibridge::profile::{lookup, PROFILES};
    match action {
        None => {
            for p in PROFILES {
                outln!("{:<8} {}", p.name, p.summary);
            }
            outln!("\n`ctibridge profiles show NAME` prints one; `<provider>NAME` in <global> uses it.");
            Exit::Ok
        }
        Some(ProfilesAction::Show { name }) => match lookup(&name) {
            Some(p) => {
                out!("{}", p.text);
                Exit::Ok
            }
            None => {
                errln!("error: there is no built-in profile `{name}`");
                errln!("  = help: {}", ctibridge::profile::help_for_unknown(&name));
                Exit::Config
            }
        },
    }
}
