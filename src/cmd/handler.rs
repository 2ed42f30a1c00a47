//! `ctibridge install-handler`.

use std::path::PathBuf;

use ctibridge::exit::Exit;

pub(crate) fn install_handler(print_only: bool) -> Exit {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("ctibridge"));
    let plan = match ctibridge::handler::plan_for_this_platform(&exe) {
        Ok(p) => p,
        Err(e) => {
            errln!("error: {e}");
            return Exit::Config;
        }
    };
    if print_only {
        out!("{}", plan.describe());
        return Exit::Ok;
    }
    match ctibridge::handler::install(&plan) {
        Ok(notes) => {
            notes.iter().for_each(|n| outln!("{n}"));
            Exit::Ok
        }
        Err(e) => {
            errln!("error: {e}");
            Exit::Config
        }
    }
}
