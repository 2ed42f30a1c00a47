//! The param language of ctibridge: Divalto-style param files read,
//! checked and explained, with no network and no runtime.
//!
//! The pipeline, one module a step: [`source`] (decoding hand-edited files)
//! → [`param`] (syntax tree with positions) → [`config`] (typed, layered,
//! checked) → [`template`] (`$keyword$` expansion) → [`explain`]
//! (`ctibridge check`). [`schema`] is the one table of sections, tags and
//! keywords they all read; [`load`] finds and reads the files; [`profile`]
//! holds the built-in provider profiles. None of this crate needs tokio,
//! reqwest or hyper: a cycle back into the crates above it cannot compile.
//!
//! The surface is small: the modules themselves are private (`imp`), and
//! each module below names what the crates above may use of it. Inside
//! this crate the same paths reach everything (`pub(crate) use …::*`), so
//! the code reads the same on both sides.

mod imp;

/// The validated configuration ([`Config`](config::Config)), its typed
/// values and secrets.
pub mod config {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::config::*;
    pub use crate::imp::config::{
        row_of, AnswerField, Auth, CalltoSpec, Checked, Config, EventSpec, FileKind, Global,
        Interface, Launch, LookupRequest, LookupSource, LookupSpec, Method, NumberFormat,
        PopupSpec, PopupTrigger, ReportSpec, ReportWhen, RequestSpec, ReturnType, Secret, Setting,
        Template, TokenSpec,
    };

    /// How a tag's text is read, for the server file's own tags.
    pub mod value {
        pub use crate::imp::config::value::{
            parse_count, parse_listen, sources_regex, trimmed_span, FromKind,
        };
    }
}

/// Diagnostics: what the user caused, where, and what to do.
pub mod diag {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::diag::*;
    pub use crate::imp::diag::{excerpt, Code, Diagnostic, Diagnostics, SHOWN};
}

/// Exit codes, in one place.
pub mod exit {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::exit::*;
    pub use crate::imp::exit::{Exit, EXIT_CODES_HELP};
}

/// `ctibridge check`: the report and its rendering.
pub mod explain {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::explain::*;
    pub use crate::imp::explain::{render, report, Report};
}

/// Where the files are, and reading them all.
pub mod load {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::load::*;
    pub use crate::imp::load::{
        check_sources, check_tree, files_read, load, load_sources, load_text, readable_by_others,
        FileRead, FileStatus, Loaded, LocateOptions, Locations, ServerUse,
    };
}

/// The param text's syntax tree.
pub mod param {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::param::*;
    pub use crate::imp::param::{
        parse, scan_keywords, Block, Entry, ParamFile, ParseOptions, Part,
    };
}

/// The built-in provider profiles.
pub mod profile {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::profile::*;
    pub use crate::imp::profile::{help_for_unknown, lookup, PROFILES};
}

/// Secret values masked in everything printed or logged.
pub mod redact {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::redact::*;
    pub use crate::imp::redact::{
        eprint, forget, is_secret_header, is_secret_param, mask, mask_literals, mask_url, print,
        register, weak_secret, Masking, MASK, MIN_SECRET_CHARS,
    };
}

/// The format reference, generated from the table.
pub mod reference {
    pub use crate::imp::reference::markdown;
    #[allow(unused_imports)]
    pub(crate) use crate::imp::reference::*;
}

/// The one table of sections, tags and keywords.
pub mod schema {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::schema::*;
    pub use crate::imp::schema::{KeywordDef, KeywordSource, Kind, Section, Tag, TagDef, TAGS};
}

/// Source files and positions in them.
pub mod source {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::source::*;
    pub use crate::imp::source::{
        read_bounded, read_file, FileId, FileRole, SourceFile, SourceMap, Span, TextEncoding,
        MAX_DIRECTORY, MAX_FILE, MAX_PEM,
    };
}

/// `$keyword$` expansion.
pub mod template {
    #[allow(unused_imports)]
    pub(crate) use crate::imp::template::*;
    pub use crate::imp::template::{
        drop_empty_params, expand, form_urlencode, optional_params, BodyKind, ExpandError, Place,
        Values, MASK,
    };
}
