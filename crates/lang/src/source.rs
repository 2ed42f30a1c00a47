//! Reading hand-edited text files: the encoding is decided per file and never
//! fails, and every position the user wrote can be turned back into
//! `path:line:col` with the line itself.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// How the bytes of a file were turned into text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    Utf8,
    Utf8Bom,
    Utf16LeBom,
    Utf16BeBom,
    /// Any file that is not valid UTF-8: Windows editors write this one.
    Windows1252,
}

impl fmt::Display for TextEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 with BOM",
            TextEncoding::Utf16LeBom => "UTF-16LE with BOM",
            TextEncoding::Utf16BeBom => "UTF-16BE with BOM",
            TextEncoding::Windows1252 => "Windows-1252",
        })
    }
}

/// Decodes a file's bytes. UTF-8 (with or without BOM) when the bytes are
/// valid UTF-8, UTF-16 when a UTF-16 BOM says so, Windows-1252 otherwise:
/// every byte sequence decodes to something.
pub(crate) fn decode(bytes: &[u8]) -> (String, TextEncoding) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return match std::str::from_utf8(rest) {
            Ok(s) => (s.to_owned(), TextEncoding::Utf8Bom),
            // A BOM followed by invalid UTF-8: keep what can be read.
            Err(_) => (
                String::from_utf8_lossy(rest).into_owned(),
                TextEncoding::Utf8Bom,
            ),
        };
    }
    if bytes.starts_with(b"\xFF\xFE") {
        let (text, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(&bytes[2..]);
        return (text.into_owned(), TextEncoding::Utf16LeBom);
    }
    if bytes.starts_with(b"\xFE\xFF") {
        let (text, _) = encoding_rs::UTF_16BE.decode_without_bom_handling(&bytes[2..]);
        return (text.into_owned(), TextEncoding::Utf16BeBom);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_owned(), TextEncoding::Utf8),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (text.into_owned(), TextEncoding::Windows1252)
        }
    }
}

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A place in a file: 1-based line, 1-based character column, width in
/// characters (0 for "the whole line" or "the file").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
    pub len: u32,
}

impl Span {
    /// The file as a whole, when no line can be named.
    pub fn file(file: FileId) -> Span {
        Span {
            file,
            line: 0,
            col: 0,
            len: 0,
        }
    }

    /// The first file read (the param file) as a whole: where a problem is
    /// reported that has neither a line nor a file of its own (a request
    /// built by the server, not read from a desk's files).
    pub fn first_file() -> Span {
        Span::file(FileId(0))
    }

    /// The span of `len` characters starting `offset` characters after this
    /// span's start, on the same line.
    pub fn sub(self, offset: u32, len: u32) -> Span {
        Span {
            col: self.col + offset,
            len,
            ..self
        }
    }
}

/// Where a file came from, for "files read" in `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileRole {
    /// `clicktocall_param.txt`.
    Param,
    /// A built-in provider profile compiled into the binary.
    Profile,
    /// The user's own `station.txt`.
    Station,
    /// `tapi_param.txt` in the sys folder.
    TapiGlobal,
    /// `tapi_param.txt` in the user's config folder.
    TapiLocal,
    /// A text given on the command line or by a test.
    Inline,
    /// The bridge server's `server_param.txt`.
    Server,
}

/// One decoded file and its lines.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub role: FileRole,
    pub encoding: TextEncoding,
    pub text: String,
    /// Byte range of each line in `text`, without its line ending.
    line_ranges: Vec<(usize, usize)>,
}

impl SourceFile {
    pub fn new(path: PathBuf, role: FileRole, bytes: &[u8]) -> SourceFile {
        let (text, encoding) = decode(bytes);
        Self::from_text(path, role, text, encoding)
    }

    pub fn from_text(
        path: PathBuf,
        role: FileRole,
        text: String,
        encoding: TextEncoding,
    ) -> SourceFile {
        let mut line_ranges = Vec::new();
        let mut start = 0;
        while let Some(i) = text[start..].find('\n').map(|i| start + i) {
            line_ranges.push((start, trim_cr(&text, start, i)));
            start = i + 1;
        }
        if start < text.len() {
            line_ranges.push((start, trim_cr(&text, start, text.len())));
        }
        SourceFile {
            path,
            role,
            encoding,
            text,
            line_ranges,
        }
    }

    /// The lines of the file, numbered from 1.
    pub fn lines(&self) -> impl Iterator<Item = (u32, &str)> {
        self.line_ranges
            .iter()
            .enumerate()
            .map(|(i, &(s, e))| (i as u32 + 1, &self.text[s..e]))
    }

    /// Line `n` (1-based), if the file has it.
    pub fn line(&self, n: u32) -> Option<&str> {
        let &(s, e) = self.line_ranges.get((n as usize).checked_sub(1)?)?;
        Some(&self.text[s..e])
    }

    pub fn line_count(&self) -> usize {
        self.line_ranges.len()
    }
}

fn trim_cr(text: &str, start: usize, end: usize) -> usize {
    if end > start && text.as_bytes()[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// The largest param or server file read: a hand-edited file is a few
/// kilobytes; anything this large is the wrong file (or an attack).
pub const MAX_FILE: u64 = 1024 * 1024;

/// Reads a param file, refusing one over [`MAX_FILE`] without reading it
/// all (`InvalidData`, saying so).
pub fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    read_bounded(path, MAX_FILE, "a param file")
}

/// The largest certificate chain, key or `<cafile>` read (a chain is a
/// few kilobytes, a bundle of every public authority about 200 KB).
pub const MAX_PEM: u64 = 4 * 1024 * 1024;
/// The largest `<directory>` of names read (a company's contacts).
pub const MAX_DIRECTORY: u64 = 64 * 1024 * 1024;

/// Reads a file of at most `max` bytes — `what` it is says in the error —
/// refusing a larger one (or an endless one: `/dev/zero`) without reading
/// more than `max + 1` bytes (`InvalidData`, saying so).
pub fn read_bounded(path: &Path, max: u64, what: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let too_large = |size: String| {
        let shown = if max >= 1024 * 1024 {
            format!("{} MB", max / (1024 * 1024))
        } else {
            format!("{max} bytes")
        };
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file has {size} bytes; {what} has at most {max} ({shown}): is it the right file?"),
        )
    };
    if let Ok(m) = file.metadata() {
        if m.is_file() && m.len() > max {
            return Err(too_large(m.len().to_string()));
        }
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(format!("more than {max}")));
    }
    Ok(bytes)
}

/// All files read for one run, so that a [`Span`] can be shown.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(self.files.len() as u32 - 1)
    }

    /// Reads and decodes a file from disk.
    pub fn load(&mut self, path: &Path, role: FileRole) -> std::io::Result<FileId> {
        let bytes = read_file(path)?;
        Ok(self.add(SourceFile::new(path.to_path_buf(), role, &bytes)))
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }
}

/// Number of characters in `s`: columns and widths count characters, not bytes.
pub(crate) fn char_len(s: &str) -> u32 {
    s.chars().count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(
            decode(b"<url>\xC3\xA9"),
            ("<url>é".into(), TextEncoding::Utf8)
        );
        assert_eq!(
            decode(b"\xEF\xBB\xBF;\xC3\xA9"),
            (";é".into(), TextEncoding::Utf8Bom)
        );
    }

    #[test]
    fn windows_1252_when_not_utf8() {
        // "méthode" and "€" as Notepad writes them in Windows-1252.
        assert_eq!(
            decode(b";m\xE9thode \x80"),
            (";méthode €".into(), TextEncoding::Windows1252)
        );
    }

    #[test]
    fn utf16_with_bom() {
        assert_eq!(
            decode(b"\xFF\xFE<\x00a\x00>\x00"),
            ("<a>".into(), TextEncoding::Utf16LeBom)
        );
        assert_eq!(
            decode(b"\xFE\xFF\x00<\x00a\x00>"),
            ("<a>".into(), TextEncoding::Utf16BeBom)
        );
    }

    #[test]
    fn lines_split_on_lf_and_crlf() {
        let f = SourceFile::from_text(
            "x".into(),
            FileRole::Inline,
            "a\r\nb\n\nc".into(),
            TextEncoding::Utf8,
        );
        let lines: Vec<_> = f.lines().collect();
        assert_eq!(lines, vec![(1, "a"), (2, "b"), (3, ""), (4, "c")]);
        assert_eq!(f.line(2), Some("b"));
        assert_eq!(f.line(0), None);
        assert_eq!(f.line(5), None);
    }
}
