//! Where the files are and reading them all: the sys folder's
//! `clicktocall_param.txt` and `tapi_param.txt`, the user folder's
//! `station.txt` and local `tapi_param.txt`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{self, Checked, Inputs};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::param::tapi::parse_tapi;
use crate::param::{parse, ParseOptions};
use crate::schema::{Section, Tag};
use crate::source::{FileId, FileRole, SourceFile, SourceMap, Span, TextEncoding};

pub(crate) const PARAM_FILE: &str = "clicktocall_param.txt";
pub(crate) const TAPI_FILE: &str = "tapi_param.txt";
pub(crate) const STATION_FILE: &str = "station.txt";

/// The sys folder when nothing says otherwise.
pub(crate) fn default_sys_dir() -> PathBuf {
    if cfg!(windows) {
        PathBuf::from(r"C:\Divalto\Sys")
    } else {
        PathBuf::from("/divalto/sys")
    }
}

/// What the command line says about locations.
#[derive(Clone, Debug, Default)]
pub struct LocateOptions {
    /// `--sys-dir`
    pub sys_dir: Option<PathBuf>,
    /// `--param`
    pub param: Option<PathBuf>,
    /// `--station`
    pub station: Option<PathBuf>,
    /// `--provider`: a built-in profile, whatever `<provider>` says.
    pub provider: Option<String>,
}

/// Where each file is looked for, and why there.
#[derive(Clone, Debug, Serialize)]
pub struct Locations {
    pub sys_dir: PathBuf,
    /// `--sys-dir`, `CTIBRIDGE_SYS_DIR` or `default`.
    pub sys_dir_from: &'static str,
    /// The user's config folder; `None` when the platform has no home.
    pub config_dir: Option<PathBuf>,
    pub param: PathBuf,
    pub station: Option<PathBuf>,
    /// The station file was named (`--station`): it must exist.
    pub station_named: bool,
    pub tapi_global: PathBuf,
    pub tapi_local: Option<PathBuf>,
    /// `--provider`.
    pub provider: Option<String>,
}

impl Locations {
    /// Resolves locations from the options and the environment (`env` reads
    /// a variable; tests pass their own).
    pub fn resolve(opts: &LocateOptions, env: impl Fn(&str) -> Option<OsString>) -> Locations {
        let nonempty = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let (sys_dir, sys_dir_from) = match (&opts.sys_dir, nonempty("CTIBRIDGE_SYS_DIR")) {
            (Some(d), _) => (d.clone(), "--sys-dir"),
            (None, Some(d)) => (d, "CTIBRIDGE_SYS_DIR"),
            (None, None) => (default_sys_dir(), "default"),
        };
        let config_dir = nonempty("CTIBRIDGE_CONFIG_DIR").or_else(|| {
            directories::ProjectDirs::from("", "", "ctibridge")
                .map(|p| p.config_dir().to_path_buf())
        });
        Locations {
            param: opts
                .param
                .clone()
                .unwrap_or_else(|| sys_dir.join(PARAM_FILE)),
            station: opts
                .station
                .clone()
                .or_else(|| config_dir.as_ref().map(|d| d.join(STATION_FILE))),
            station_named: opts.station.is_some(),
            tapi_global: sys_dir.join(TAPI_FILE),
            tapi_local: config_dir.as_ref().map(|d| d.join(TAPI_FILE)),
            provider: opts.provider.clone(),
            sys_dir,
            sys_dir_from,
            config_dir,
        }
    }
}

/// What happened to one file.
#[derive(Clone, Debug, Serialize)]
pub struct FileRead {
    pub role: FileRole,
    /// Absolute when it could be made so.
    pub path: PathBuf,
    #[serde(flatten)]
    pub status: FileStatus,
    #[serde(skip)]
    pub id: Option<FileId>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum FileStatus {
    Read {
        encoding: TextEncoding,
    },
    /// Optional files only.
    NotFound,
    Unreadable {
        reason: String,
    },
}

/// Every file of a run, read, parsed and checked.
pub struct Loaded {
    pub locations: Locations,
    pub sources: SourceMap,
    pub files: Vec<FileRead>,
    /// `None` when the param file itself could not be read.
    pub checked: Option<Checked>,
    pub diagnostics: Diagnostics,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.has_errors()
    }

    /// The param file, where problems of the whole configuration are shown.
    pub fn param_file(&self) -> FileId {
        self.sources
            .files()
            .find(|(_, f)| f.role == FileRole::Param)
            .map_or(FileId(0), |(id, _)| id)
    }
}

/// Reads, parses and checks every file. I/O problems with the param file
/// are errors; the optional files may be missing.
pub fn load(locations: Locations) -> Loaded {
    let mut sources = SourceMap::new();
    let mut files = Vec::new();
    let mut diagnostics = Diagnostics::new();

    let param = read(
        &mut sources,
        &mut files,
        &locations.param,
        FileRole::Param,
        true,
    );
    let Some(param) = param else {
        let id = sources.add(SourceFile::from_text(
            locations.param.clone(),
            FileRole::Param,
            String::new(),
            TextEncoding::Utf8,
        ));
        let reason = match files.last().map(|f: &FileRead| &f.status) {
            Some(FileStatus::Unreadable { reason }) => reason.clone(),
            _ => "unknown reason".to_owned(),
        };
        diagnostics.push(
            Diagnostic::error(
                Code::CannotRead,
                Span::file(id),
                format!("cannot read the param file: {reason}"),
            )
            .with_help(
                "name it with --param FILE, or its folder with --sys-dir DIR or CTIBRIDGE_SYS_DIR",
            ),
        );
        return Loaded {
            locations,
            sources,
            files,
            checked: None,
            diagnostics,
        };
    };
    let station = locations
        .station
        .as_deref()
        .and_then(|p| read(&mut sources, &mut files, p, FileRole::Station, false));
    let mut tapi = Vec::new();
    if let Some(id) = read(
        &mut sources,
        &mut files,
        &locations.tapi_global,
        FileRole::TapiGlobal,
        false,
    ) {
        tapi.push(id);
    }
    if let Some(local) = &locations.tapi_local {
        if !same_file(local, &locations.tapi_global) {
            if let Some(id) = read(&mut sources, &mut files, local, FileRole::TapiLocal, false) {
                tapi.push(id);
            }
        }
    }
    for f in &mut files {
        if f.role == FileRole::Station && f.id.is_none() && locations.station_named {
            if let FileStatus::NotFound = &f.status {
                let id = sources.add(SourceFile::from_text(
                    f.path.clone(),
                    FileRole::Station,
                    String::new(),
                    TextEncoding::Utf8,
                ));
                diagnostics.push(
                    Diagnostic::error(
                        Code::CannotRead,
                        Span::file(id),
                        "the station settings named with --station do not exist",
                    )
                    .with_help("name an existing file, or leave --station out to use station.txt of the user's config folder"),
                );
            }
        }
        if f.role == FileRole::Station && f.id.is_none() {
            if let FileStatus::Unreadable { reason } = &f.status {
                let id = sources.add(SourceFile::from_text(
                    f.path.clone(),
                    FileRole::Station,
                    String::new(),
                    TextEncoding::Utf8,
                ));
                diagnostics.push(Diagnostic::warning(
                    Code::CannotRead,
                    Span::file(id),
                    format!("cannot read the station settings: {reason}"),
                ));
            }
        }
    }

    let checked = check_sources_with(
        &mut sources,
        param,
        station,
        &tapi,
        locations.provider.as_deref(),
        &mut diagnostics,
    );
    // The built-in profile the param file named.
    files.extend(files_read(&sources, |r| r == FileRole::Profile));
    warn_readable_secrets(&sources, &checked, &mut diagnostics);
    Loaded {
        locations,
        sources,
        files,
        checked: Some(checked),
        diagnostics,
    }
}

/// Checks files already in memory (built-in samples, tests): the same as
/// [`load`] without the file system.
pub fn load_sources(
    mut sources: SourceMap,
    param: FileId,
    station: Option<FileId>,
    tapi: &[FileId],
) -> Loaded {
    let mut diagnostics = Diagnostics::new();
    let checked = check_sources(&mut sources, param, station, tapi, &mut diagnostics);
    let files = files_read(&sources, |_| true);
    Loaded {
        locations: Locations::resolve(&LocateOptions::default(), |_| None),
        sources,
        files,
        checked: Some(checked),
        diagnostics,
    }
}

/// Checks a param file and a station file given as text, named
/// `clicktocall_param.txt` and `station.txt`.
pub fn load_text(param: &str, station: Option<&str>) -> Loaded {
    let mut sources = SourceMap::new();
    let p = sources.add(SourceFile::new(
        PathBuf::from("clicktocall_param.txt"),
        FileRole::Param,
        param.as_bytes(),
    ));
    let s = station.map(|t| {
        sources.add(SourceFile::new(
            PathBuf::from("station.txt"),
            FileRole::Station,
            t.as_bytes(),
        ))
    });
    load_sources(sources, p, s, &[])
}

/// The files of `sources` whose role `keep` accepts, as files read.
pub fn files_read(sources: &SourceMap, keep: impl Fn(FileRole) -> bool) -> Vec<FileRead> {
    sources
        .files()
        .filter(|(_, f)| keep(f.role))
        .map(|(id, f)| FileRead {
            role: f.role,
            path: f.path.clone(),
            status: FileStatus::Read {
                encoding: f.encoding,
            },
            id: Some(id),
        })
        .collect()
}

/// Parses and checks files already in `sources`: the param file, the
/// optional station file and the tapi files (global first). The profile the
/// param file names is added to `sources`.
pub fn check_sources(
    sources: &mut SourceMap,
    param: FileId,
    station: Option<FileId>,
    tapi: &[FileId],
    diagnostics: &mut Diagnostics,
) -> Checked {
    check_sources_with(sources, param, station, tapi, None, diagnostics)
}

/// [`check_sources`] with `--provider`.
pub(crate) fn check_sources_with(
    sources: &mut SourceMap,
    param: FileId,
    station: Option<FileId>,
    tapi: &[FileId],
    provider: Option<&str>,
    diagnostics: &mut Diagnostics,
) -> Checked {
    let (param_tree, d) = parse(
        param,
        sources.get(param),
        ParseOptions {
            implicit_section: None,
        },
    );
    diagnostics.extend(d);
    check_tree(
        sources,
        param_tree,
        station,
        tapi,
        provider,
        None,
        diagnostics,
    )
}

/// What the bridge server uses of its file's dialing sections.
#[derive(Clone, Copy, Debug)]
pub struct ServerUse {
    /// It polls the event source (the relay): `<cliktocallevent>` is kept.
    pub relay: bool,
}

/// `check_sources_with` on a param file already parsed (the bridge
/// server's file, whose own sections are taken out first).
pub fn check_tree(
    sources: &mut SourceMap,
    param_tree: crate::param::ParamFile,
    station: Option<FileId>,
    tapi: &[FileId],
    provider: Option<&str>,
    server: Option<ServerUse>,
    diagnostics: &mut Diagnostics,
) -> Checked {
    let param = param_tree.file;
    let profile_tree = chosen_profile(&param_tree, provider, param, diagnostics).map(|p| {
        let id = sources.add(SourceFile::new(
            PathBuf::from(p.path()),
            FileRole::Profile,
            p.text.as_bytes(),
        ));
        let (tree, d) = parse(
            id,
            sources.get(id),
            ParseOptions {
                implicit_section: None,
            },
        );
        diagnostics.extend(d);
        tree
    });
    let station_tree = station.map(|id| {
        let (tree, d) = parse(
            id,
            sources.get(id),
            ParseOptions {
                implicit_section: Some(Section::Station),
            },
        );
        diagnostics.extend(d);
        for block in &tree.blocks {
            if let (Some(h), Some(s)) = (&block.header, block.section) {
                if !matches!(s, Section::Station | Section::Popup | Section::Lookup) {
                    diagnostics.push(
                        Diagnostic::error(Code::WrongSection, h.span, format!("`<{}>` does not belong in station settings", s.name()))
                            .with_help("station.txt holds only station tags (user, mdp, telorg, ident, prefix, lines, interface), a `<popup>` section and a `<lookup>` section"),
                    );
                }
            }
        }
        tree
    });
    let tapi_trees: Vec<_> = tapi
        .iter()
        .map(|&id| {
            let (t, d) = parse_tapi(id, sources.get(id));
            diagnostics.extend(d);
            t
        })
        .collect();
    let mut params: Vec<_> = profile_tree.into_iter().collect();
    params.push(param_tree);
    if let Some(use_) = server {
        // The server sends what it dials with, and its event source only
        // when it relays it: the rest of a profile would only warn about
        // desk settings (`$ident$`) the server never sends.
        let sends_token = |section: Section| {
            params.iter().flat_map(|p| &p.blocks).any(|b| {
                b.section == Some(section)
                    && b.entries
                        .iter()
                        .any(|e| e.value.text.to_ascii_lowercase().contains("$token$"))
            })
        };
        let token = sends_token(Section::Dial) || (use_.relay && sends_token(Section::Event));
        for p in &mut params {
            p.blocks.retain(|b| match b.section {
                Some(Section::Event) => use_.relay,
                Some(Section::Token) => token,
                Some(Section::Sms | Section::Forward | Section::Popup | Section::Callto) => false,
                _ => true,
            });
        }
    }
    // Sections other than <station> in a station file were reported above
    // and take no effect.
    if let Some(mut t) = station_tree {
        t.blocks.retain(|b| {
            matches!(
                b.section,
                Some(Section::Station | Section::Popup | Section::Lookup)
            )
        });
        params.push(t);
    }
    let mut checked = config::build(Inputs {
        params,
        tapi: tapi_trees.iter().collect(),
        main_file: param,
        line_per_request: server.is_some(),
    });
    // A directory file named relative to the file that names it.
    if let Some(config::LookupSource::Directory(path)) =
        checked.config.lookup.as_mut().map(|l| &mut l.source)
    {
        let relative = std::path::Path::new(&path.value).is_relative() && !path.value.is_empty();
        if let (true, Some(span)) = (relative, path.span()) {
            if let Some(folder) = sources.get(span.file).path.parent() {
                if !folder.as_os_str().is_empty() {
                    path.value = folder.join(&path.value).display().to_string();
                }
            }
        }
    }
    diagnostics.extend(checked.diagnostics.iter().cloned());
    checked
}

/// The profile to read first: `--provider`, else the last `<provider>` of
/// the param file's `<global>`. An unknown name read from the file is
/// reported where the file is checked; one from `--provider` here.
fn chosen_profile(
    tree: &crate::param::ParamFile,
    provider: Option<&str>,
    param: FileId,
    diagnostics: &mut Diagnostics,
) -> Option<&'static crate::profile::Profile> {
    if let Some(name) = provider {
        let found = crate::profile::lookup(name);
        if found.is_none() {
            let mut d = Diagnostic::error(
                Code::UnknownProvider,
                Span::file(param),
                format!("--provider {name}: there is no built-in profile of that name"),
            );
            d = d.with_help(crate::profile::help_for_unknown(name));
            diagnostics.push(d);
        }
        return found;
    }
    let name = tree
        .blocks
        .iter()
        .filter(|b| b.section == Some(Section::Global))
        .flat_map(|b| &b.entries)
        .rfind(|e| e.name.eq_ignore_ascii_case("provider") && !e.value.text.trim().is_empty())?;
    crate::profile::lookup(&name.value.text)
}

fn read(
    sources: &mut SourceMap,
    files: &mut Vec<FileRead>,
    path: &Path,
    role: FileRole,
    required: bool,
) -> Option<FileId> {
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    tracing::debug!(role = ?role, path = %shown.display(), "reading");
    let (status, id) = match crate::source::read_file(path) {
        Ok(bytes) => {
            let file = SourceFile::new(path.to_path_buf(), role, &bytes);
            let encoding = file.encoding;
            (FileStatus::Read { encoding }, Some(sources.add(file)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            (FileStatus::NotFound, None)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
            FileStatus::Unreadable {
                reason: format!("{} does not exist", shown.display()),
            },
            None,
        ),
        Err(e) => (
            FileStatus::Unreadable {
                reason: e.to_string(),
            },
            None,
        ),
    };
    tracing::info!(role = ?role, path = %shown.display(), status = ?status, "file");
    files.push(FileRead {
        role,
        path: shown,
        status,
        id,
    });
    id
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A file that holds a password should be readable by its owner only.
fn warn_readable_secrets(sources: &SourceMap, checked: &Checked, diagnostics: &mut Diagnostics) {
    for v in checked.settings.all(Section::Station, Tag::MDP) {
        let path = &sources.get(v.entry.value.span.file).path;
        if readable_by_others(path) {
            diagnostics.push(
                Diagnostic::warning(
                    Code::SecretReadable,
                    v.entry.name_span,
                    "this file holds a password and other users can read it",
                )
                .with_help(format!("chmod 600 {}", path.display())),
            );
        }
    }
}

/// Whether users other than the owner can read `path` (a file that holds
/// a password): its mode on Unix; on Windows, where access is an ACL that
/// a user profile's folders already keep to their owner, never.
#[cfg(unix)]
pub fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

/// See the Unix one.
#[cfg(not(unix))]
pub fn readable_by_others(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sys_dir_precedence() {
        let env = |k: &str| match k {
            "CTIBRIDGE_SYS_DIR" => Some(OsString::from("/env/sys")),
            "CTIBRIDGE_CONFIG_DIR" => Some(OsString::from("/env/user")),
            _ => None,
        };
        let l = Locations::resolve(&LocateOptions::default(), env);
        assert_eq!(
            (l.sys_dir.as_path(), l.sys_dir_from),
            (Path::new("/env/sys"), "CTIBRIDGE_SYS_DIR")
        );
        assert_eq!(l.param, Path::new("/env/sys/clicktocall_param.txt"));
        assert_eq!(
            l.station.as_deref(),
            Some(Path::new("/env/user/station.txt"))
        );
        assert_eq!(
            l.tapi_local.as_deref(),
            Some(Path::new("/env/user/tapi_param.txt"))
        );

        let opts = LocateOptions {
            sys_dir: Some("/flag".into()),
            param: Some("/x/p.txt".into()),
            station: None,
            provider: None,
        };
        let l = Locations::resolve(&opts, env);
        assert_eq!(
            (l.sys_dir.as_path(), l.sys_dir_from),
            (Path::new("/flag"), "--sys-dir")
        );
        assert_eq!(l.param, Path::new("/x/p.txt"));
        assert_eq!(l.tapi_global, Path::new("/flag/tapi_param.txt"));

        let l = Locations::resolve(&LocateOptions::default(), |_| None);
        assert_eq!((l.sys_dir, l.sys_dir_from), (default_sys_dir(), "default"));
    }
}
