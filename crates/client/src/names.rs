//! Names for numbers: a local directory (a CSV file of name, company,
//! numbers and record), its numbers read into their one identity once, at
//! load, and the matching rule every lookup uses — E.164 first, then the
//! last nine digits when only one entry has them, never a partial match on
//! a shorter number; extensions ignored.

pub use crate::callers::{Callers, How, Resolved, LOG_TARGET};
use std::collections::HashMap;
use std::path::Path;

/// Who a number belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    pub name: String,
    pub company: String,
    /// A record id or URL in the ERP.
    pub record: String,
}

/// A problem with one line of a directory file (the line is skipped, or
/// only its bad number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineProblem {
    /// 1-based, as an editor shows it.
    pub line: usize,
    pub message: String,
}

/// The digits compared when E.164 does not match: the last nine, the
/// subscriber number of a French number in any of its forms.
pub(crate) const TAIL_DIGITS: usize = 9;

/// Entries by number.
#[derive(Debug, Default)]
pub struct Directory {
    people: Vec<Person>,
    /// Identity (E.164, or an internal number as written) → entry.
    by_identity: HashMap<String, usize>,
    /// Last nine digits → entries (more than one: ambiguous, no match).
    by_tail: HashMap<String, Vec<usize>>,
}

impl Directory {
    /// The entries of a CSV file: a header row naming the columns (name
    /// or nom, company or société, record or fiche, and one or more
    /// columns of numbers: phone, téléphone, tel, mobile, portable, fax,
    /// number, numéro; several numbers in one cell separated by `|`),
    /// `,` or `;` as the separator (the one the header uses most).
    /// Numbers without a country code are read in `country`.
    pub fn from_csv(path: &Path, country: &str) -> Result<(Directory, Vec<LineProblem>), String> {
        let bytes =
            crate::source::read_bounded(path, crate::source::MAX_DIRECTORY, "a directory of names")
                .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Directory::from_csv_text(&decode(&bytes), country))
    }

    /// [`Directory::from_csv`] of the file's text.
    pub fn from_csv_text(text: &str, country: &str) -> (Directory, Vec<LineProblem>) {
        let mut problems = Vec::new();
        let header = text.lines().next().unwrap_or("");
        let delimiter = if header.matches(';').count() > header.matches(',').count() {
            b';'
        } else {
            b','
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let columns = match reader.headers() {
            Ok(h) => Columns::of(h),
            Err(e) => {
                problems.push(LineProblem {
                    line: 1,
                    message: format!("the header row cannot be read: {e}"),
                });
                return (Directory::default(), problems);
            }
        };
        if columns.numbers.is_empty() {
            problems.push(LineProblem {
                line: 1,
                message: "no column of numbers: name one phone, téléphone, tel, mobile or number"
                    .to_owned(),
            });
            return (Directory::default(), problems);
        }
        let mut dir = Directory::default();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line() as usize);
                    problems.push(LineProblem {
                        line,
                        message: format!("cannot be read: {e}"),
                    });
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| p.line() as usize);
            let field = |i: Option<usize>| {
                i.and_then(|i| record.get(i))
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            };
            let person = Person {
                name: field(columns.name),
                company: field(columns.company),
                record: field(columns.record),
            };
            let numbers: Vec<(usize, String)> = columns
                .numbers
                .iter()
                .filter_map(|&i| record.get(i))
                .flat_map(|cell| cell.split('|'))
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| (line, n.to_owned()))
                .collect();
            dir.take(person, numbers, line, country, &mut problems);
        }
        (dir, problems)
    }

    /// A file by its extension: vCard (`.vcf`, `.vcard`), else CSV.
    pub fn from_file(path: &Path, country: &str) -> Result<(Directory, Vec<LineProblem>), String> {
        let vcard = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("vcf") || e.eq_ignore_ascii_case("vcard"));
        if vcard {
            let bytes = crate::source::read_bounded(
                path,
                crate::source::MAX_DIRECTORY,
                "a directory of names",
            )
            .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(Directory::from_vcard_text(&decode(&bytes), country))
        } else {
            Directory::from_csv(path, country)
        }
    }

    /// The cards of a vCard file (2.1, 3.0 or 4.0): `FN` (else `N`) the
    /// name, `ORG` the company, every `TEL` a number, `UID` or `URL` the
    /// record. Folded lines are unfolded; the line of a problem is the
    /// line the property starts on.
    pub fn from_vcard_text(text: &str, country: &str) -> (Directory, Vec<LineProblem>) {
        let mut dir = Directory::default();
        let mut problems = Vec::new();
        // Unfolded properties with the line each starts on.
        let mut props: Vec<(usize, String)> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            match (
                raw.strip_prefix(' ').or_else(|| raw.strip_prefix('\t')),
                props.last_mut(),
            ) {
                (Some(rest), Some((_, last))) => last.push_str(rest),
                _ => props.push((i + 1, raw.to_owned())),
            }
        }
        // The card being read: the line it starts on, who, and its numbers
        // with their lines.
        type Card = (usize, Person, Vec<(usize, String)>);
        let mut card: Option<Card> = None;
        for (line, prop) in props {
            let Some((head, value)) = prop.split_once(':') else {
                continue;
            };
            let name = head.split(';').next().unwrap_or("").to_ascii_uppercase();
            // `item1.TEL` (Apple's groups): the property's own name.
            let name = name.rsplit('.').next().unwrap_or("").to_owned();
            let value = unescape(value.trim());
            match (name.as_str(), card.as_mut()) {
                ("BEGIN", _) if value.eq_ignore_ascii_case("VCARD") => {
                    card = Some((line, Person::default(), Vec::new()));
                }
                ("END", Some(_)) if value.eq_ignore_ascii_case("VCARD") => {
                    let (start, person, numbers) = card.take().expect("a card is open");
                    dir.take(person, numbers, start, country, &mut problems);
                }
                ("FN", Some((_, p, _))) => p.name = value,
                ("N", Some((_, p, _))) if p.name.is_empty() => {
                    let parts: Vec<&str> = value.split(';').collect();
                    let (family, given) = (
                        parts.first().copied().unwrap_or(""),
                        parts.get(1).copied().unwrap_or(""),
                    );
                    p.name = format!("{given} {family}").trim().to_owned();
                }
                ("ORG", Some((_, p, _))) => {
                    p.company = value.split(';').next().unwrap_or("").trim().to_owned()
                }
                ("UID" | "URL", Some((_, p, _))) if p.record.is_empty() => p.record = value,
                ("TEL", Some((_, _, numbers))) => {
                    let n = value
                        .strip_prefix("tel:")
                        .map_or(value.clone(), str::to_owned);
                    numbers.push((line, n));
                }
                _ => {}
            }
        }
        if let Some((start, _, _)) = card {
            problems.push(LineProblem {
                line: start,
                message: "this card has no END:VCARD: skipped".to_owned(),
            });
        }
        (dir, problems)
    }

    /// One entry and its numbers (each read into its identity; a number
    /// that cannot be read is named at its line).
    fn take(
        &mut self,
        person: Person,
        numbers: Vec<(usize, String)>,
        start: usize,
        country: &str,
        problems: &mut Vec<LineProblem>,
    ) {
        if numbers.is_empty() {
            return;
        }
        if person.name.is_empty() && person.company.is_empty() {
            problems.push(LineProblem {
                line: start,
                message: "no name and no company: skipped".to_owned(),
            });
            return;
        }
        let mut keys = Vec::new();
        for (line, n) in numbers {
            match key_of(&n, country) {
                Some(id) => keys.push((line, id)),
                None => problems.push(LineProblem {
                    line,
                    message: format!("`{n}` is not a phone number: skipped"),
                }),
            }
        }
        if keys.is_empty() {
            return;
        }
        let index = self.people.len();
        self.people.push(person);
        for (line, id) in keys {
            self.add(id, index, line, problems);
        }
    }

    fn add(&mut self, id: String, index: usize, line: usize, problems: &mut Vec<LineProblem>) {
        if let Some(&other) = self.by_identity.get(&id) {
            if other != index {
                problems.push(LineProblem {
                    line,
                    message: format!(
                        "{id} is already {}'s: the first one is kept",
                        self.people[other].display()
                    ),
                });
            }
            return;
        }
        self.by_identity.insert(id.clone(), index);
        if let Some(tail) = tail(&id) {
            let entries = self.by_tail.entry(tail).or_default();
            if !entries.contains(&index) {
                entries.push(index);
            }
        }
    }

    /// How many people it holds.
    pub fn len(&self) -> usize {
        self.people.len()
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    /// Who `number` (any form a provider or a person writes) belongs to.
    pub fn find(&self, number: &str, country: &str) -> Option<&Person> {
        let id = key_of(number, country)?;
        if let Some(&i) = self.by_identity.get(&id) {
            return Some(&self.people[i]);
        }
        match self.by_tail.get(&tail(&id)?)?.as_slice() {
            [only] => Some(&self.people[*only]),
            _ => None,
        }
    }
}

impl Person {
    /// "Marie Dupont (Dupont SA)", or whichever of the two there is.
    pub fn display(&self) -> String {
        match (self.name.is_empty(), self.company.is_empty()) {
            (false, false) => format!("{} ({})", self.name, self.company),
            (false, true) => self.name.clone(),
            _ => self.company.clone(),
        }
    }
}

/// What a lookup found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    Known(Person),
    /// No entry for the number: not an error.
    Unknown,
}

/// The `<lookup>` of a configuration, ready: its directory read once, or
/// its web request with the client that sends it.
pub struct Lookup {
    config: std::sync::Arc<crate::config::Config>,
    directory: Option<Directory>,
    client: Option<crate::http::HttpClient>,
    context: crate::context::Context,
    country: String,
}

impl Lookup {
    /// The lookup of `config`, if it has one; a directory file is read now
    /// (its problems by line are given back).
    pub fn new(
        config: std::sync::Arc<crate::config::Config>,
        context: &crate::context::Context,
        fallback: crate::source::Span,
    ) -> Result<Option<(Lookup, Vec<LineProblem>)>, crate::failure::Failure> {
        use crate::config::LookupSource;
        let Some(spec) = config.lookup.as_ref() else {
            return Ok(None);
        };
        let country = config.global.country.value.clone();
        let mut problems = Vec::new();
        let (directory, client) = match &spec.source {
            LookupSource::Directory(path) => {
                let (d, p) =
                    Directory::from_file(Path::new(&path.value), &country).map_err(|e| {
                        crate::failure::Failure::Config(vec![crate::diag::Diagnostic::error(
                            crate::diag::Code::CannotRead,
                            path.span().unwrap_or(fallback),
                            format!("the directory cannot be read: {e}"),
                        )])
                    })?;
                problems = p;
                (Some(d), None)
            }
            LookupSource::Request { .. } => (None, Some(crate::dial::client(&config, fallback)?)),
        };
        Ok(Some((
            Lookup {
                config,
                directory,
                client,
                context: context.clone(),
                country,
            },
            problems,
        )))
    }

    /// The country numbers without a country code are read in.
    pub fn country(&self) -> &str {
        &self.country
    }

    pub(crate) fn spec(&self) -> &crate::config::LookupSpec {
        self.config
            .lookup
            .as_ref()
            .expect("a Lookup is made from a config with <lookup>")
    }

    /// `<lookup_timeout>`: the longest a pop waits for a name.
    pub fn budget(&self) -> std::time::Duration {
        self.spec().timeout.value
    }

    /// The people of the directory, when names come from one.
    pub fn size(&self) -> Option<usize> {
        self.directory.as_ref().map(Directory::len)
    }

    /// Whether names come from a local file (instant, nothing to cache).
    pub fn is_local(&self) -> bool {
        self.directory.is_some()
    }

    /// The values of the lookup's request for `number`: `$tel$` as the
    /// ERP stores it (national), `$tele164$`, `$tel9$`.
    pub fn values(&self, number: &str) -> crate::template::Values {
        let mut v = crate::dial::values(&self.config);
        let key = key_of(number, &self.country);
        v.caller = Some(
            key.as_deref()
                .map(|k| {
                    crate::number::identity_in(
                        k,
                        crate::config::NumberFormat::National,
                        &self.country,
                    )
                })
                .unwrap_or_else(|| number.trim().to_owned()),
        );
        v.caller_e164 = key.clone().filter(|k| k.starts_with('+'));
        v.caller_tail = key.as_deref().and_then(tail);
        v
    }

    /// Who `number` belongs to, within `<lookup_timeout>`.
    pub async fn find(&self, number: &str) -> Result<Found, String> {
        use crate::config::LookupSource;
        if let Some(d) = &self.directory {
            return Ok(d
                .find(number, &self.country)
                .map_or(Found::Unknown, |p| Found::Known(p.clone())));
        }
        let (LookupSource::Request(asked), Some(client)) = (&self.spec().source, &self.client)
        else {
            return Ok(Found::Unknown);
        };
        let crate::config::LookupRequest {
            request,
            name,
            company,
            record,
            ..
        } = asked.as_ref();
        let limit = self.budget();
        let values = self.values(number);
        let exchange = crate::provider::Exchange::new(client, &self.config, &self.context);
        let sent = tokio::time::timeout(limit, exchange.send(request, &values, Some(limit))).await;
        let late = || {
            format!(
                "no answer within <lookup_timeout> ({} ms)",
                limit.as_millis()
            )
        };
        let resp = match sent {
            Err(_)
            | Ok(Err(crate::provider::ExchangeError::Send(crate::http::SendError::Timeout(_)))) => {
                return Err(late())
            }
            Ok(Err(crate::provider::ExchangeError::Build(e))) => return Err(e.diagnostic.message),
            Ok(Err(crate::provider::ExchangeError::Auth(e))) => return Err(e),
            Ok(Err(crate::provider::ExchangeError::Send(e))) => return Err(e.to_string()),
            Ok(Ok(done)) => done.response,
        };
        // An ERP that answers "not found" for a number it does not know.
        if resp.status == 404 {
            return Ok(Found::Unknown);
        }
        if !resp.is_success() {
            return Err(format!("HTTP {}: {}", resp.status, resp.body_start()));
        }
        let read = |f: &Option<crate::config::AnswerField>| -> Result<String, String> {
            match f {
                None => Ok(String::new()),
                Some(f) => crate::answer::read(&resp.body, f)
                    .map(|v| v.map(|v| v.trim().to_owned()).unwrap_or_default())
                    .map_err(|e| format!("{e}; the answer starts with: {}", resp.body_start())),
            }
        };
        let person = Person {
            name: read(name)?,
            company: read(company)?,
            record: read(record)?,
        };
        Ok(if person.name.is_empty() && person.company.is_empty() {
            Found::Unknown
        } else {
            Found::Known(person)
        })
    }

    /// What `find` would send for `number`, secrets masked (`--dry-run`).
    pub fn dry_run(&self, number: &str) -> Result<String, String> {
        use crate::config::LookupSource;
        match &self.spec().source {
            LookupSource::Directory(path) => Ok(format!("reads the directory {}", path.value)),
            LookupSource::Request(r) => {
                crate::request::build(&r.request, &self.values(number).masked())
                    .map(|r| r.render_masked())
                    .map_err(|e| e.diagnostic.message)
            }
        }
    }
}

/// Which columns hold what.
#[derive(Debug, Default)]
struct Columns {
    name: Option<usize>,
    company: Option<usize>,
    record: Option<usize>,
    numbers: Vec<usize>,
}

impl Columns {
    fn of(header: &csv::StringRecord) -> Columns {
        let mut c = Columns::default();
        for (i, h) in header.iter().enumerate() {
            let h = fold(h);
            match h.as_str() {
                "name" | "nom" | "contact" | "full name" | "nom complet" => {
                    c.name.get_or_insert(i);
                }
                "company" | "societe" | "entreprise" | "organisation" | "organization"
                | "raison sociale" | "tiers" => {
                    c.company.get_or_insert(i);
                }
                "record" | "fiche" | "id" | "url" | "record url" => {
                    c.record.get_or_insert(i);
                }
                _ if [
                    "phone",
                    "telephone",
                    "tel",
                    "mobile",
                    "portable",
                    "fax",
                    "number",
                    "numero",
                    "numbers",
                    "numeros",
                    "gsm",
                ]
                .iter()
                .any(|w| {
                    h == *w || h.starts_with(&format!("{w} ")) || h.ends_with(&format!(" {w}"))
                }) =>
                {
                    c.numbers.push(i);
                }
                _ => {}
            }
        }
        c
    }
}

/// A header, lower case, without accents or extra spaces.
fn fold(h: &str) -> String {
    h.trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' => 'a',
            'ô' => 'o',
            'î' | 'ï' => 'i',
            'û' | 'ù' => 'u',
            'ç' => 'c',
            '_' | '-' => ' ',
            c => c,
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// UTF-8, or Windows-1252 (a spreadsheet's export), without a BOM.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// The identity a number is matched on: E.164 for a public number, the
/// digits for an internal one; an extension (`;ext=12`, `ext. 12`, `x12`,
/// `poste 12`) is left out. Digits a provider writes without `+`
/// (`33612345678`) are read as international when they are not a
/// national number.
pub fn key_of(number: &str, country: &str) -> Option<String> {
    let number = without_extension(number);
    if let Ok(id) = crate::number::identity(number, country) {
        if id.starts_with('+') || id.len() < TAIL_DIGITS {
            return Some(id);
        }
        // Long digits that are no national number: international without +.
        let international = crate::number::identity_of_international(&id);
        return Some(international);
    }
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 3).then_some(digits)
}

/// The number without a trailing extension.
fn without_extension(number: &str) -> &str {
    let n = number.trim();
    if let Some(i) = n.to_ascii_lowercase().find(";ext=") {
        return n[..i].trim_end();
    }
    let lower = n.to_ascii_lowercase();
    for mark in ["poste", "ext.", "ext", "x", "#"] {
        if let Some(i) = lower.rfind(mark) {
            let after = &lower[i + mark.len()..];
            let before = &lower[..i];
            let digits_after =
                !after.trim().is_empty() && after.trim().chars().all(|c| c.is_ascii_digit());
            let number_before = before.chars().filter(char::is_ascii_digit).count() >= 6;
            if digits_after && number_before {
                return n[..i].trim_end();
            }
        }
    }
    n
}

/// A vCard value's escapes (`\\,` `\\;` `\\n` `\\\\`).
fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n' | 'N') => out.push(' '),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// The last nine digits of an identity with at least that many.
/// The last nine digits of a number's identity; empty when it has fewer.
pub(crate) fn tail_of(id: &str) -> String {
    tail(id).unwrap_or_default()
}

fn tail(id: &str) -> Option<String> {
    let digits: Vec<char> = id.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= TAIL_DIGITS).then(|| digits[digits.len() - TAIL_DIGITS..].iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "Nom;Société;Téléphone;Mobile;Fiche\n\
        Marie Dupont;Dupont SA;03 88 20 20 20;+33 6 12 34 56 78;T0001\n\
        Jean Martin;;+33 (0)1 44 55 66 77 ext. 12;;T0002\n\
        ;Bistro;0033 4 91 00 00 00|04 91 00 00 01;;T0003\n\
        Paul Sans Numéro;Nowhere;;;T0004\n\
        Hans Muster;Muster AG;+41 44 668 18 00;;T0005\n\
        Accueil;;1003;;T0006\n\
        Bad;;not a number;;T0007\n";

    fn directory() -> (Directory, Vec<LineProblem>) {
        Directory::from_csv_text(CSV, "FR")
    }

    #[test]
    fn numbers_in_any_form_are_read_once_and_bad_lines_say_where() {
        let (d, problems) = directory();
        // Bad has no readable number: not an entry.
        assert_eq!(d.len(), 5, "{problems:?}");
        assert_eq!(
            problems,
            vec![LineProblem {
                line: 8,
                message: "`not a number` is not a phone number: skipped".to_owned()
            }]
        );
    }

    #[test]
    fn a_caller_in_any_form_finds_its_entry() {
        let (d, _) = directory();
        let name = |n: &str| d.find(n, "FR").map(|p| p.name.clone());
        for n in [
            "0388202020",
            "+33388202020",
            "0033388202020",
            "33388202020",
            "tel:+33-3-88-20-20-20",
        ] {
            assert_eq!(name(n).as_deref(), Some("Marie Dupont"), "{n}");
        }
        assert_eq!(name("06 12 34 56 78").as_deref(), Some("Marie Dupont"));
        // The extension is no part of the number.
        assert_eq!(name("0144556677").as_deref(), Some("Jean Martin"));
        assert_eq!(
            name("+33 1 44 55 66 77;ext=99").as_deref(),
            Some("Jean Martin")
        );
        // Two numbers in one cell; a company with no name.
        let bistro = d.find("0491000001", "FR").expect("bistro");
        assert_eq!(
            (bistro.company.as_str(), bistro.record.as_str()),
            ("Bistro", "T0003")
        );
        assert_eq!(bistro.display(), "Bistro");
        // A foreign number, and an internal one.
        assert_eq!(name("0041446681800").as_deref(), Some("Hans Muster"));
        assert_eq!(name("1003").as_deref(), Some("Accueil"));
    }

    #[test]
    fn no_partial_match_on_shorter_numbers_and_no_guess_between_two() {
        let (d, _) = directory();
        // The last digits of a known number, but fewer than nine.
        assert_eq!(d.find("88202020", "FR"), None);
        assert_eq!(d.find("202020", "FR"), None);
        assert_eq!(d.find("0388202021", "FR"), None);
        // Same last nine digits in two countries: E.164 decides, else none.
        let (d, _) = Directory::from_csv_text(
            "name,phone\nA,+33 3 88 20 20 20\nB,+32 388 20 20 20\n",
            "FR",
        );
        assert_eq!(
            d.find("0388202020", "FR").map(|p| p.name.as_str()),
            Some("A")
        );
        assert_eq!(d.find("+44 388202020", "FR"), None);
    }

    #[test]
    fn a_file_without_numbers_or_with_a_comma_says_so() {
        let (d, problems) = Directory::from_csv_text("name,company\nA,B\n", "FR");
        assert!(d.is_empty());
        assert!(
            problems[0].message.starts_with("no column of numbers"),
            "{problems:?}"
        );
        let (d, _) =
            Directory::from_csv_text("Name,Company,Phone\n\"Dupont, Marie\",X,0388202020\n", "FR");
        assert_eq!(
            d.find("0388202020", "FR").map(|p| p.name.as_str()),
            Some("Dupont, Marie")
        );
    }

    #[test]
    fn windows_1252_exports_are_read() {
        let bytes = b"Nom;T\xe9l\xe9phone\nH\xe9l\xe8ne;0388202020\n";
        let (d, _) = Directory::from_csv_text(&decode(bytes), "FR");
        assert_eq!(
            d.find("0388202020", "FR").map(|p| p.name.as_str()),
            Some("Hélène")
        );
    }

    #[test]
    fn vcards_of_any_version_are_read() {
        let vcf = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Marie Dupont\r\nORG:Dupont SA;Ventes\r\n\
            TEL;TYPE=WORK,VOICE:+33 3 88 20 20 20\r\nitem1.TEL:06 12 34\r\n  56 78\r\nUID:T0001\r\nEND:VCARD\r\n\
            BEGIN:VCARD\nVERSION:4.0\nN:Martin;Jean;;;\nTEL;VALUE=uri:tel:+33-1-44-55-66-77;ext=12\nTEL:inconnu\nEND:VCARD\n\
            BEGIN:VCARD\nFN:Sans fin\nTEL:0491000000\n";
        let (d, problems) = Directory::from_vcard_text(vcf, "FR");
        assert_eq!(d.len(), 2, "{problems:?}");
        let marie = d.find("0612345678", "FR").expect("a folded TEL");
        assert_eq!(
            (
                marie.name.as_str(),
                marie.company.as_str(),
                marie.record.as_str()
            ),
            ("Marie Dupont", "Dupont SA", "T0001")
        );
        assert_eq!(
            d.find("33388202020", "FR").map(|p| p.name.as_str()),
            Some("Marie Dupont")
        );
        assert_eq!(
            d.find("0144556677", "FR").map(|p| p.name.as_str()),
            Some("Jean Martin")
        );
        assert_eq!(
            problems,
            vec![
                LineProblem {
                    line: 14,
                    message: "`inconnu` is not a phone number: skipped".to_owned()
                },
                LineProblem {
                    line: 16,
                    message: "this card has no END:VCARD: skipped".to_owned()
                },
            ]
        );
    }
}
