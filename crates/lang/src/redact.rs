//! Secrets are values, not names: every secret value the process knows —
//! a password, a token, `$auth$`, a Digest answer, OVH's keys, desk and
//! Keyyo secrets — is registered here as soon as it is read or made, and
//! replaced by [`MASK`] wherever it appears in anything printed or logged
//! (stderr, stdout, the `<debug>1` log file, error messages quoting a
//! provider's answer), whatever the parameter or header is called.
//!
//! The forms a value takes on the wire are registered with it: percent-
//! encoded (URL query, form body) and JSON-escaped.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::RwLock;

/// What a secret is shown as.
pub const MASK: &str = "********";

/// Values shorter than this are not searched for in text: a very short
/// secret would mask every occurrence of those characters in numbers and
/// words (it is still never printed where it is known to be a secret).
pub(crate) const MIN_LEN: usize = 4;

/// Registered values, longest first (a secret containing another is
/// masked whole).
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// `secret` as it may appear: itself, form- and percent-encoded (with
/// upper- and lower-case escapes, as servers echo them), and JSON-escaped
/// (also with `\/`, as PHP's `json_encode` writes it); none for a value
/// too short to mask.
fn forms_of(secret: &str) -> Option<Vec<String>> {
    let secret = secret.trim();
    if secret.chars().count() < MIN_LEN {
        return None;
    }
    let mut forms = vec![secret.to_owned()];
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    for encoded in [form, percent] {
        forms.push(lower_escapes(&encoded));
        forms.push(encoded);
    }
    if let Ok(json) = serde_json::to_string(secret) {
        let json = json.trim_matches('"').to_owned();
        forms.push(json.replace('/', "\\/"));
        forms.push(json);
    }
    forms.dedup();
    Some(forms)
}

/// `text` with each `%XX` escape written in lower case (`%2f`).
fn lower_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut hex = 0;
    for c in text.chars() {
        if c == '%' {
            hex = 2;
            out.push(c);
        } else if hex > 0 {
            hex -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Stops masking `secret`: for a token replaced long ago (a server that
/// mints one an hour for months keeps the list short).
pub fn forget(secret: &str) {
    let Some(forms) = forms_of(secret) else {
        return;
    };
    let mut all = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    all.retain(|s| !forms.contains(s));
}

/// Registers `secret` (and its encoded forms) to be masked from now on.
pub fn register(secret: &str) {
    let Some(forms) = forms_of(secret) else {
        return;
    };
    let mut all = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    for f in forms {
        if f.len() >= MIN_LEN && !all.contains(&f) {
            all.push(f);
        }
    }
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `text` with every registered secret replaced by [`MASK`], where it
/// stands as a whole token: not where its letters are part of a longer
/// word or number (a secret `1003` leaves the line `10030` alone, and a
/// number the secret is part of stays readable).
pub fn mask(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = replace_tokens(&out, s);
        }
    }
    Cow::Owned(out)
}

/// `text` with each whole-token occurrence of `secret` replaced by
/// [`MASK`]: an end of the secret that is a letter or digit must not touch
/// another letter or digit.
fn replace_tokens(text: &str, secret: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let starts_word = word(secret.chars().next());
    let ends_word = word(secret.chars().next_back());
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(secret) {
        let before = rest[..at].chars().next_back().or(out.chars().next_back());
        let after = rest[at + secret.len()..].chars().next();
        let whole = !(starts_word && word(before) || ends_word && word(after));
        out.push_str(&rest[..at]);
        if whole {
            out.push_str(MASK);
            rest = &rest[at + secret.len()..];
        } else {
            // Not this one: go on one character further.
            let step = rest[at..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[at..at + step]);
            rest = &rest[at + step..];
        }
    }
    out.push_str(rest);
    out
}

/// The fewest characters of a secret the user makes (a desk's, Keyyo's
/// notification secret): a shorter one is guessed, and as a value to mask
/// it would hide the same letters in ordinary words and numbers.
pub const MIN_SECRET_CHARS: usize = 12;

/// Words and passwords that are no secret, however they end (`Password2024!`).
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "motdepasse",
    "secret",
    "changeme",
    "admin",
    "administrator",
    "azerty",
    "qwerty",
    "azertyuiop",
    "qwertyuiop",
    "welcome",
    "bienvenue",
    "letmein",
    "ctibridge",
    "divalto",
    "keyyo",
    "ovh",
    "accueil",
    "standard",
    "bonjour",
    "soleil",
    "telephone",
    "téléphone",
    "poste",
    "desk",
    "default",
    "test",
    "demo",
    "root",
    "user",
];

/// Why `secret` (one the user makes up: a desk's `<secret>`, Keyyo's
/// notification secret) is no secret, or `None` when it will do: shorter
/// than [`MIN_SECRET_CHARS`], one character repeated, a run of digits or
/// keyboard letters, or a common word or password however it is dressed
/// (case, digits and signs around it).
pub fn weak_secret(secret: &str) -> Option<String> {
    let secret = secret.trim();
    let n = secret.chars().count();
    if n < MIN_SECRET_CHARS {
        return Some(format!(
            "a secret has at least {MIN_SECRET_CHARS} characters (this one has {n})"
        ));
    }
    let lower = secret.to_lowercase();
    let mut chars = lower.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Some("a secret is not one character repeated".to_owned());
    }
    let digits: String = lower.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == n
        && ("01234567890123456789".contains(&digits) || "98765432109876543210".contains(&digits))
    {
        return Some("a secret is not a run of digits".to_owned());
    }
    // The word under the dressing: letters only.
    let stem: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    if COMMON.contains(&stem.as_str()) {
        return Some(format!(
            "`{stem}`, with digits or signs around it, is among the first words tried: it is no secret"
        ));
    }
    None
}

/// A writer that masks what goes through it, a line at a time (a secret
/// written in pieces is masked whole); the rest is written on `flush` and
/// when it is dropped.
pub struct Masking<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Masking<W> {
    pub fn new(inner: W) -> Masking<W> {
        Masking {
            inner,
            pending: Vec::new(),
        }
    }

    fn write_masked(&mut self, upto: usize) -> io::Result<()> {
        let chunk: Vec<u8> = self.pending.drain(..upto).collect();
        let text = String::from_utf8_lossy(&chunk);
        self.inner.write_all(mask(&text).as_bytes())
    }
}

impl<W: Write> Write for Masking<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last) = self.pending.iter().rposition(|&b| b == b'\n') {
            self.write_masked(last + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let n = self.pending.len();
            self.write_masked(n)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for Masking<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Prints to stdout, every secret masked.
pub fn print(text: &str) {
    let _ = io::stdout().lock().write_all(mask(text).as_bytes());
}

/// Prints to stderr, every secret masked.
pub fn eprint(text: &str) {
    let _ = io::stderr().lock().write_all(mask(text).as_bytes());
}

/// Header names whose values are secrets even when written literally.
pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("authori")
        || n.contains("authenti")
        || n == "cookie"
        || ["token", "secret", "password", "key", "signature"]
            .iter()
            .any(|w| n.contains(w))
}

/// Query parameters whose values are secrets even when written literally.
pub fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "pass",
        "pwd",
        "mdp",
        "key",
        "signature",
        "auth",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// A URL with the values of secret-looking query parameters masked.
pub fn mask_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if is_secret_param(k) && !v.is_empty() => format!("{k}={MASK}"),
            _ => pair.to_owned(),
        })
        .collect();
    let mut out = format!("{base}?{}", masked.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// A template as `check` shows it: literal values of secret-looking
/// headers (`Authorization: Bearer abc…`) and query parameters (`key=abc…`)
/// masked; a value with a `$keyword$` is shown (its secret is filled in
/// later, and masked where it is).
pub fn mask_literals(text: &str, headers: bool) -> String {
    let literal = |v: &str| !v.trim().is_empty() && !v.contains('$');
    if !headers {
        let Some((base, query)) = text.split_once('?') else {
            return text.to_owned();
        };
        let masked: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if is_secret_param(k) && literal(v) => format!("{k}={MASK}"),
                _ => pair.to_owned(),
            })
            .collect();
        return format!("{base}?{}", masked.join("&"));
    }
    text.split('|')
        .map(|item| {
            let cut = item.find([':', '=']);
            match cut {
                Some(at) if is_secret_header(item[..at].trim()) && literal(&item[at + 1..]) => {
                    let value = item[at + 1..].trim();
                    let shown = match value.split_once(' ') {
                        Some((scheme, _)) if scheme.chars().all(|c| c.is_ascii_alphabetic()) => {
                            format!("{scheme} {MASK}")
                        }
                        _ => MASK.to_owned(),
                    };
                    format!("{}{} {shown}", &item[..at], &item[at..=at])
                }
                _ => item.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forgotten_value_is_no_longer_masked() {
        register("retired token/7");
        assert_eq!(mask("t=retired%20token%2F7"), format!("t={MASK}"));
        forget("retired token/7");
        assert_eq!(mask("retired token/7"), "retired token/7");
        assert_eq!(mask("t=retired%20token%2F7"), "t=retired%20token%2F7");
    }

    #[test]
    fn masks_every_form_of_a_registered_value() {
        register("p@ss w0rd&more");
        register("ab");
        let text =
            "GET /x?pwd=p%40ss+w0rd%26more&y=p%40ss%20w0rd%26more {\"m\":\"p@ss w0rd&more\"} ab";
        let masked = mask(text);
        assert!(!masked.contains("w0rd"), "{masked}");
        assert!(
            masked.ends_with(" ab"),
            "short values are not searched: {masked}"
        );
        assert_eq!(mask("nothing here"), "nothing here");
        let mut out = Vec::new();
        {
            let mut w = Masking::new(&mut out);
            w.write_all(b"token p@ss ").unwrap();
            w.write_all(b"w0rd&more\nnext p@ss").unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "token ********\nnext p@ss");
    }

    #[test]
    fn every_wire_form_is_masked() {
        register("qv/ss+wo=rd-8Zq");
        for form in [
            "qv/ss+wo=rd-8Zq",
            "qv%2Fss%2Bwo%3Drd-8Zq",
            "qv%2fss%2bwo%3drd-8Zq",
            "qv\\/ss+wo=rd-8Zq",
        ] {
            assert_eq!(
                mask(&format!("x={form}&y")),
                format!("x={MASK}&y"),
                "{form}"
            );
        }
    }

    #[test]
    fn only_whole_tokens_are_masked() {
        register("zqxv-unlikely-77");
        assert_eq!(
            mask("a zqxv-unlikely-77, zqxv-unlikely-77s, azqxv-unlikely-77 and (zqxv-unlikely-77)"),
            "a ********, zqxv-unlikely-77s, azqxv-unlikely-77 and (********)"
        );
        register("8202");
        assert_eq!(mask("0388202020 and 8202"), "0388202020 and ********");
    }

    #[test]
    fn weak_secrets_are_refused() {
        for weak in [
            "short",
            "changeme",
            "Password2024!",
            "motdepasse-123",
            "aaaaaaaaaaaaaa",
            "123456789012",
            "azertyuiop!!",
        ] {
            assert!(weak_secret(weak).is_some(), "{weak}");
        }
        for fine in [
            "alice-secret-7701",
            "7f3a9c0e1b2d4e5f",
            "Correct-Horse-Battery",
        ] {
            assert_eq!(weak_secret(fine), None, "{fine}");
        }
    }

    #[test]
    fn literal_secrets_of_headers_and_urls_are_masked_keywords_kept() {
        assert_eq!(
            mask_literals("Authorization: Bearer abc123|X-Desk: 12|Api-Key=zz99", true),
            "Authorization: Bearer ********|X-Desk: 12|Api-Key= ********"
        );
        assert_eq!(
            mask_literals("Authorization: Bearer $token$", true),
            "Authorization: Bearer $token$"
        );
        assert_eq!(
            mask_literals("https://erp/x?tel=$tel$&key=abc123&pw=$mdp$", false),
            "https://erp/x?tel=$tel$&key=********&pw=$mdp$"
        );
    }
}
