//! `ctibridge install-handler`.

use std::path::PathBuf;

use ctibridge::exit::Exit;
use ctibridge::load::LocateOptions;

/// The options naming the files this command reads (`--sys-dir`,
/// `--param`, `--station`, `--provider`), absolute: what a click or a
/// logon start must read too.
fn files_named(opts: &LocateOptions) -> Vec<String> {
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
    let mut args = Vec::new();
    for (flag, path) in [
        ("--sys-dir", &opts.sys_dir),
        ("--param", &opts.param),
        ("--station", &opts.station),
    ] {
        if let Some(p) = path {
            args.push(flag.to_owned());
            args.push(absolute(p).display().to_string());
        }
    }
    if let Some(name) = &opts.provider {
        args.extend(["--provider".to_owned(), name.clone()]);
    }
    args
}

/// This program, unless it is a build and `force` is not given (a link or
/// a logon start pointing at a build breaks at the next rebuild).
fn installed_exe(force: bool, print_only: bool) -> Result<PathBuf, Exit> {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("ctibridge"));
    // --print changes nothing: it may show what a build would write.
    if ctibridge::handler::in_build_folder(&exe) && !force && !print_only {
        errln!(
            "error: {} is a build: links pointing at it stop working when the build folder is rebuilt or cleaned\n  = help: install it first (`cargo install --path .`, or the Debian package) and run `ctibridge install-handler` from there, or add --force",
            exe.display()
        );
        return Err(Exit::Usage);
    }
    Ok(exe)
}

/// `ctibridge watch --install-startup`.
pub(crate) fn install_startup(opts: &LocateOptions, print_only: bool, force: bool) -> Exit {
    let exe = match installed_exe(force, print_only) {
        Ok(exe) => exe,
        Err(exit) => return exit,
    };
    let plan = ctibridge::handler::startup_plan(&exe, &files_named(opts), |k| std::env::var_os(k));
    let exit = carry_out(plan, print_only, false);
    if exit == Exit::Ok && !print_only {
        outln!("watch starts at the next logon; `ctibridge watch --uninstall-startup` undoes it");
    }
    exit
}

/// `ctibridge watch --uninstall-startup`.
pub(crate) fn uninstall_startup() -> Exit {
    said(
        ctibridge::handler::remove_startup(|k| std::env::var_os(k)),
        false,
    )
}

pub(crate) fn install_handler(
    opts: &LocateOptions,
    print_only: bool,
    quiet: bool,
    force: bool,
) -> Exit {
    let exe = match installed_exe(force, print_only) {
        Ok(exe) => exe,
        Err(exit) => return exit,
    };
    // The files this command was told to read are the ones a click reads.
    let plan = ctibridge::handler::plan_for_this_platform(&exe, &files_named(opts), |k| {
        std::env::var_os(k)
    });
    carry_out(plan, print_only, quiet)
}

/// `ctibridge uninstall-handler`.
pub(crate) fn uninstall_handler() -> Exit {
    said(
        ctibridge::handler::uninstall_for_this_platform(|k| std::env::var_os(k)),
        false,
    )
}

/// A plan shown (`print_only`), or carried out and what it did said
/// (unless `quiet`).
fn carry_out(
    plan: Result<ctibridge::handler::Plan, String>,
    print_only: bool,
    quiet: bool,
) -> Exit {
    match plan {
        Ok(plan) if print_only => {
            out!("{}", plan.describe());
            Exit::Ok
        }
        Ok(plan) => said(ctibridge::handler::install(&plan), quiet),
        Err(e) => said(Err(e), quiet),
    }
}

/// What was done, one line each (unless `quiet`), or the error.
fn said(done: Result<Vec<String>, String>, quiet: bool) -> Exit {
    match done {
        Ok(notes) => {
            if !quiet {
                notes.iter().for_each(|n| outln!("{n}"));
            }
            Exit::Ok
        }
        Err(e) => {
            errln!("error: {e}");
            Exit::Config
        }
    }
}
