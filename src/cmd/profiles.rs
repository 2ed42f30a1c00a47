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
                let guess = ctibridge::diag::did_you_mean(&name, PROFILES.iter().map(|p| p.name));
                errln!("error: there is no built-in profile `{name}`");
                match guess {
                    Some(g) => errln!("  = help: did you mean `{g}`?"),
                    None => errln!(
                        "  = help: the built-in profiles are: {}",
                        PROFILES
                            .iter()
                            .map(|p| p.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
                Exit::Config
            }
        },
    }
}
