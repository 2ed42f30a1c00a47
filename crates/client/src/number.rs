//! What the user clicked: a bare number or a `tel:`, `callto:`, `sip:` URI,
//! turned into the digits to dial, or refused before anything is sent.

use std::fmt;

use crate::config::NumberFormat;

/// Longest input accepted, in characters.
pub(crate) const MAX_INPUT: usize = 64;

/// A number to dial, as the user or the ERP gave it, cleaned of visual
/// separators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialTarget {
    /// Digits, `*` and `#`, with a leading `+` for a global number.
    pub number: String,
    /// `;ext=` of a `tel:` URI.
    pub extension: Option<String>,
    /// `;phone-context=` of a `tel:` URI.
    pub phone_context: Option<String>,
}

/// Why an input is not a number to dial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberError {
    Empty,
    TooLong(usize),
    /// A character that has no place in a phone number, and its 1-based
    /// position in the input.
    BadChar(char, usize),
    /// A URI scheme ctibridge does not dial.
    Scheme(String),
    /// A `tel:` parameter that is malformed.
    BadParameter(String),
    /// A number that cannot be put in the configured `<number_format>`.
    Unformattable(String, &'static str),
    /// A number too long or too short for its country: the number and why.
    Length(String, String),
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberError::Empty => f.write_str("no number to call"),
            NumberError::TooLong(n) => write!(f, "{n} characters is too long for a phone number (at most {MAX_INPUT})"),
            NumberError::BadChar(c, at) => write!(f, "`{}` at position {at} has no place in a phone number", c.escape_default()),
            NumberError::Scheme(s) => write!(f, "`{s}:` links are not phone numbers; ctibridge dials tel:, callto:, sip: and plain numbers"),
            NumberError::BadParameter(p) => write!(f, "`{p}` is not a valid tel: parameter"),
            NumberError::Unformattable(n, why) => write!(f, "`{n}` cannot be put in the form <number_format> asks: {why}"),
            NumberError::Length(n, why) => write!(f, "`{n}` is {why}"),
        }
    }
}

impl std::error::Error for NumberError {}

/// Whether an argument looks like a URI ctibridge is launched with, rather
/// than a subcommand: `tel:…`, `callto:…`, `sip:…`, `sips:…`.
pub fn is_dial_uri(arg: &str) -> bool {
    scheme_of(arg).is_some_and(|s| matches!(s.as_str(), "tel" | "callto" | "sip" | "sips"))
}

fn scheme_of(s: &str) -> Option<String> {
    let (scheme, _) = s.split_once(':')?;
    let ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then(|| scheme.to_ascii_lowercase())
}

/// Parses a bare number (`03 88 20 20 20`, `+33 (0)3.88.20.20.20`) or a
/// `tel:` (RFC 3966), `callto:` (with or without `//`), `sip:`/`sips:` URI.
pub fn parse_target(input: &str) -> Result<DialTarget, NumberError> {
    let input = input.trim();
    let len = input.chars().count();
    if len > MAX_INPUT {
        return Err(NumberError::TooLong(len));
    }
    if input.is_empty() {
        return Err(NumberError::Empty);
    }
    let Some(scheme) = scheme_of(input) else {
        return Ok(DialTarget {
            number: clean(input, 0)?,
            extension: None,
            phone_context: None,
        });
    };
    let offset = scheme.len() + 1;
    let rest = percent_decode(&input[offset..]);
    match scheme.as_str() {
        "tel" => parse_tel(&rest, offset),
        "callto" => {
            let (skip, rest) = match rest.strip_prefix("//") {
                Some(r) => (2, r),
                None => (0, rest.as_str()),
            };
            Ok(DialTarget {
                number: clean(rest.trim_end_matches('/'), offset + skip)?,
                extension: None,
                phone_context: None,
            })
        }
        "sip" | "sips" => {
            // The user part, before `@` and before any user parameter.
            let user = rest.split('@').next().unwrap_or("");
            let user = user.split(';').next().unwrap_or("");
            Ok(DialTarget {
                number: clean(user, offset)?,
                extension: None,
                phone_context: None,
            })
        }
        other => Err(NumberError::Scheme(other.to_owned())),
    }
}

fn parse_tel(rest: &str, offset: usize) -> Result<DialTarget, NumberError> {
    let mut parts = rest.split(';');
    let number = clean(parts.next().unwrap_or(""), offset)?;
    let mut target = DialTarget {
        number,
        extension: None,
        phone_context: None,
    };
    for p in parts {
        let (name, value) = p.split_once('=').unwrap_or((p, ""));
        match name.to_ascii_lowercase().as_str() {
            "ext" => {
                let ext = clean(value, 0).map_err(|_| NumberError::BadParameter(p.to_owned()))?;
                if ext.is_empty() || ext.starts_with('+') {
                    return Err(NumberError::BadParameter(p.to_owned()));
                }
                target.extension = Some(ext);
            }
            "phone-context" => {
                if value.is_empty() || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
                    return Err(NumberError::BadParameter(p.to_owned()));
                }
                target.phone_context = Some(value.to_owned());
            }
            // Other RFC 3966 parameters (isub, user parameters) do not
            // change what is dialled.
            "" => return Err(NumberError::BadParameter(p.to_owned())),
            _ if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && value.chars().all(is_paramchar) => {}
            _ => return Err(NumberError::BadParameter(p.to_owned())),
        }
    }
    // RFC 3966 §5.1.5: a local number in a global context (`+33-3`) is
    // the context's digits followed by the number's.
    if let Some(context) = target
        .phone_context
        .as_deref()
        .filter(|c| c.starts_with('+'))
    {
        if !target.number.starts_with('+') {
            let bad = || NumberError::BadParameter(format!("phone-context={context}"));
            let digits = clean(context, 0).map_err(|_| bad())?;
            if digits.len() < 2 || !digits[1..].bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            target.number = format!("{digits}{}", target.number);
        }
    }
    Ok(target)
}

/// A public number read into its two parts: the country calling code and
/// the national significant number (no trunk prefix: `+33 (0)3…` is
/// `33` and `388202020`). Its text is the E.164 form, `+33388202020`: the
/// one identity of a number, whatever form it was written in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct E164 {
    code: u16,
    national: String,
}

impl E164 {
    /// `number` put in `format` for someone dialling from `country`.
    pub fn format(&self, format: NumberFormat, country: &str) -> String {
        use NumberFormat::*;
        match format {
            E164 => self.to_string(),
            International => format!("{}{}", self.code, self.national),
            International00 => format!("00{}{}", self.code, self.national),
            AsDialled | National => self.national_from(country),
        }
    }

    /// How it is dialled from `country`: nationally within its own
    /// country, else with that country's international call prefix, as
    /// libphonenumber's "format out of country calling number" does
    /// (`+41 44 668 18 00` from France is `0041446681800`).
    fn national_from(&self, country: &str) -> String {
        if self.code == 33 && is_fr(country) {
            return format!("0{}", self.national);
        }
        metadata::national_from(self, country)
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}{}", self.code, self.national)
    }
}

/// A number as ctibridge reads it: a public number, or a number that is not
/// one (an extension `1003`, a feature code `*21#`) and is dialled as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Reading {
    Public(E164),
    Internal(String),
}

/// Reads a cleaned number (digits, `*`, `#`, leading `+`) dialled from
/// `country`: `+` or the international call prefix, then a country code;
/// else a national number of `country`. A trunk prefix written after the
/// country code (`+33 (0)3…`, `+44 (0)20…`) is dropped, and a number too
/// long or too short for its country is refused, as libphonenumber does.
///
/// Numbers of six digits or fewer without an international prefix, and
/// anything with `*` or `#`, are not public numbers: they stay as written.
///
/// French numbers in their usual forms (`0388202020`, `+33…`, `0033…`,
/// `33…`, with or without `(0)`) are read without the libphonenumber
/// metadata, which costs tens of milliseconds to load; every other number
/// loads it. Both ways give the same answer (tested on every form).
pub(crate) fn read(number: &str, country: &str) -> Result<Reading, NumberError> {
    let international = number.starts_with('+') || number.starts_with("00");
    let digits_only = number
        .trim_start_matches('+')
        .chars()
        .all(|c| c.is_ascii_digit());
    if !digits_only || (!international && number.len() <= 6) {
        return Ok(Reading::Internal(number.to_owned()));
    }
    // `+33…` is French from anywhere; `0033…`, `0…` and `33…` from France.
    if is_fr(country) || number.starts_with("+33") {
        if let Some(n) = read_french(number) {
            return Ok(Reading::Public(n));
        }
    }
    metadata::read(number, country).map(Reading::Public)
}

/// The usual forms of a French number, read by hand: `None` for anything
/// else, which the metadata then reads. France's numbers are all nine
/// digits after `+33` (or `0`), the first of them 1 to 9.
fn read_french(number: &str) -> Option<E164> {
    let nsn = if let Some(rest) = number
        .strip_prefix("+33")
        .or_else(|| number.strip_prefix("0033"))
    {
        // `+33 (0)3 88 20 20 20`: the trunk zero goes away.
        if rest.len() == 10 {
            rest.strip_prefix('0')?
        } else {
            rest
        }
    } else if number.len() == 10 {
        number.strip_prefix('0')?
    } else if number.len() == 11 {
        // Keyyo's form: the country code without `+` or `00`.
        number.strip_prefix("33")?
    } else {
        return None;
    };
    let ok = nsn.len() == 9 && nsn.as_bytes()[0] != b'0' && nsn.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| E164 {
        code: 33,
        national: nsn.to_owned(),
    })
}

fn is_fr(country: &str) -> bool {
    country.eq_ignore_ascii_case("FR")
}

/// Puts a cleaned number (digits, `*`, `#`, leading `+`) in `format`, for
/// someone dialling from `country`: see [`read`]. `asdialled` leaves it as
/// it is; internal numbers are never changed.
pub(crate) fn format_number(
    number: &str,
    format: NumberFormat,
    country: &str,
) -> Result<String, NumberError> {
    if format == NumberFormat::AsDialled {
        return Ok(number.to_owned());
    }
    Ok(match read(number, country)? {
        Reading::Public(n) => n.format(format, country),
        Reading::Internal(n) => n,
    })
}

/// A line of the station's own (`<telorg>`, a desk's line) as a provider
/// gets it: read as a dialled number is (separators, `tel:`, `(0)`), then
/// put in `format`. A line that is no number at all (empty, a SIP user
/// name) stays as written; a number that cannot take the form is refused.
pub(crate) fn line_in(
    line: &str,
    format: NumberFormat,
    country: &str,
) -> Result<String, NumberError> {
    match parse_target(line) {
        Ok(t) => format_number(&t.number, format, country),
        Err(_) => Ok(line.trim().to_owned()),
    }
}

/// The one identity of a line or a party, whatever form it was written
/// in: E.164 (`+33388202020`) for a public number, the digits as written
/// for an internal one (`1003`). `text` is read as a dialled number is
/// (separators, `tel:`, `(0)`), from `country`.
pub fn identity(text: &str, country: &str) -> Result<String, NumberError> {
    Ok(match read(&parse_target(text)?.number, country)? {
        Reading::Public(n) => n.to_string(),
        Reading::Internal(n) => n,
    })
}

/// The identity of digits a provider writes in international form without
/// `+` (Keyyo: `33388202020`). Short numbers (extensions) and numbers no
/// plan knows (a Keyyo voicemail's 22 digits) stay as written.
pub fn identity_of_international(digits: &str) -> String {
    let all_digits = digits.bytes().all(|b| b.is_ascii_digit());
    // A French number (Keyyo's usual): read as `+33` and nine digits would
    // be, without the round trip.
    if all_digits && digits.len() == 11 && digits.starts_with("33") && digits.as_bytes()[2] != b'0'
    {
        let mut e164 = String::with_capacity(12);
        e164.push('+');
        e164.push_str(digits);
        return e164;
    }
    if digits.len() > 6 && all_digits {
        if let Ok(Reading::Public(n)) = read(&format!("+{digits}"), "") {
            return n.to_string();
        }
    }
    digits.to_owned()
}

/// An identity ([`identity`]) put in `format` for someone in `country`;
/// one that is no public number stays as it is.
pub fn identity_in(identity: &str, format: NumberFormat, country: &str) -> String {
    if !identity.starts_with('+') {
        return identity.to_owned();
    }
    format_number(identity, format, country).unwrap_or_else(|_| identity.to_owned())
}

/// Everything that needs libphonenumber's metadata, loaded on first use.
mod metadata {
    use super::{NumberError, E164};
    use phonenumber::metadata::{Metadata, DATABASE};

    #[cfg(test)]
    thread_local! {
        /// How many times this thread used the metadata (tests only).
        pub(super) static USES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn used() {
        #[cfg(test)]
        USES.with(|u| u.set(u.get() + 1));
    }

    pub(super) fn read(number: &str, country: &str) -> Result<E164, NumberError> {
        used();
        let id: Option<phonenumber::country::Id> = country.to_ascii_uppercase().parse().ok();
        let not_a_number =
            || NumberError::Unformattable(number.to_owned(), "not a phone number of a known plan");
        // A number with its country code is parsed on its own: given a
        // country, the library strips that country's trunk prefix, not the
        // number's (`+39 06…` from France would lose its leading zero).
        let global = match number.strip_prefix('+') {
            Some(rest) => Some(rest),
            None => id
                .and_then(|c| DATABASE.by_id(c.as_ref()))
                .and_then(|m| strip_idd(m, number)),
        };
        let parsed = match global {
            Some(rest) => phonenumber::parse(None, format!("+{rest}")),
            None => phonenumber::parse(id, number),
        };
        let parsed = parsed.map_err(|e| match e {
            phonenumber::ParseError::TooLong => length_error(number, None, Length::TooLong),
            phonenumber::ParseError::TooShortNsn | phonenumber::ParseError::TooShortAfterIdd => {
                length_error(number, None, Length::TooShort)
            }
            _ => not_a_number(),
        })?;
        let code = parsed.code().value();
        let mut national = parsed.national().to_string();
        let meta = region(code).ok_or_else(not_a_number)?;
        // The library keeps a trunk prefix when it cannot tell the number's
        // region (`+1 (1)650…`): dropped when only that makes it a number.
        if length(meta, national.len()) != Length::Possible {
            if let Some(rest) = meta
                .national_prefix()
                .and_then(|p| national.strip_prefix(p))
                .filter(|rest| length(meta, rest.len()) == Length::Possible)
            {
                national = rest.to_owned();
            }
        }
        match length(meta, national.len()) {
            Length::Possible => Ok(E164 { code, national }),
            bad => Err(length_error(number, Some(meta), bad)),
        }
    }

    /// The digits after `country`'s international call prefix, if `number`
    /// starts with one (`00`, `011`…) followed by something other than `0`.
    fn strip_idd<'n>(meta: &Metadata, number: &'n str) -> Option<&'n str> {
        let pattern = meta.international_prefix()?.to_string();
        let re = regex::Regex::new(&format!("^(?:{pattern})")).ok()?;
        let end = re.find(number)?.end();
        let rest = &number[end..];
        (!rest.is_empty() && !rest.starts_with('0')).then_some(rest)
    }

    /// The main region of a country calling code.
    fn region(code: u16) -> Option<&'static Metadata> {
        let all = DATABASE.by_code(&code)?;
        all.iter()
            .find(|m| m.is_main_country_for_code())
            .or_else(|| all.first())
            .copied()
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Length {
        Possible,
        TooShort,
        TooLong,
        Invalid,
    }

    /// libphonenumber's length test for a number of any type: the lengths
    /// of all its number types, plus those only dialled locally.
    fn length(meta: &Metadata, len: usize) -> Length {
        let d = meta.descriptors();
        let kinds = [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ];
        let mut possible: Vec<u16> = Vec::new();
        let mut local: Vec<u16> = Vec::new();
        for k in kinds.into_iter().flatten() {
            possible.extend_from_slice(k.possible_length());
            local.extend_from_slice(k.possible_local_length());
        }
        possible.extend_from_slice(d.general().possible_length());
        possible.sort_unstable();
        possible.dedup();
        let len = len as u16;
        if local.contains(&len) || possible.contains(&len) {
            return Length::Possible;
        }
        match (possible.first(), possible.last()) {
            (Some(&min), _) if len < min => Length::TooShort,
            (_, Some(&max)) if len > max => Length::TooLong,
            _ => Length::Invalid,
        }
    }

    fn length_error(number: &str, meta: Option<&Metadata>, why: Length) -> NumberError {
        let what = match why {
            Length::TooShort => "too short",
            Length::TooLong => "too long",
            Length::Invalid | Length::Possible => "of no valid length",
        };
        let text = match meta {
            Some(m) => format!("{what} for a number of +{} ({})", m.country_code(), m.id()),
            None => format!("{what} for a phone number"),
        };
        NumberError::Length(number.to_owned(), text)
    }

    pub(super) fn national_from(n: &E164, country: &str) -> String {
        used();
        let from = DATABASE.by_id(country.to_ascii_uppercase().as_str());
        let own = from.map(|m| m.country_code());
        if own == Some(n.code) {
            return national(n);
        }
        let Some(from) = from else {
            return n.to_string();
        };
        // Within the North American plan a call to another of its
        // countries is `1` and the number.
        if n.code == 1 && own == Some(1) {
            return format!("1{}", n.national);
        }
        let idd = from
            .preferred_international_prefix()
            .map(str::to_owned)
            .or_else(|| {
                let p = from.international_prefix()?.as_str();
                let p = p.trim_start_matches('^');
                p.chars()
                    .all(|c| c.is_ascii_digit() || "~\u{2053}\u{223c}\u{ff5e}".contains(c))
                    .then(|| p.to_owned())
            });
        match idd {
            Some(idd) => {
                let idd: String = idd.chars().filter(char::is_ascii_digit).collect();
                format!("{idd}{}{}", n.code, n.national)
            }
            None => n.to_string(),
        }
    }

    /// A number of the caller's own country in its national form.
    fn national(n: &E164) -> String {
        let e164 = n.to_string();
        match phonenumber::parse(None, &e164) {
            Ok(p) => p
                .format()
                .mode(phonenumber::Mode::National)
                .to_string()
                .chars()
                .filter(char::is_ascii_digit)
                .collect(),
            Err(_) => e164,
        }
    }
}

/// RFC 3966 `paramchar`: unreserved, mark and param-unreserved characters.
fn is_paramchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.!~*'()[]/:&+$".contains(c)
}

/// Keeps digits, `*`, `#` and a leading `+`; drops visual separators
/// (space, `-`, `.`, `(`, `)`, `/`); refuses anything else.
fn clean(s: &str, offset: usize) -> Result<String, NumberError> {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        match c {
            '0'..='9' | '*' | '#' => out.push(c),
            '+' if out.is_empty() => out.push(c),
            ' ' | '\u{a0}' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return Err(NumberError::BadChar(c, offset + i + 1)),
        }
    }
    if out.is_empty() || out == "+" {
        return Err(NumberError::Empty);
    }
    Ok(out)
}

/// `%xx` escapes decoded; an escape that is not valid UTF-8 is kept as is,
/// and then refused as a character.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Result<String, NumberError> {
        parse_target(s).map(|t| t.number)
    }

    #[test]
    fn accepted_forms() {
        let cases = [
            ("0388202020", "0388202020"),
            ("03 88 20 20 20", "0388202020"),
            ("03.88.20.20.20", "0388202020"),
            ("+33 (0)3-88-20-20-20", "+330388202020"),
            ("tel:+33-3-88-20-20-20", "+33388202020"),
            ("TEL:0388202020", "0388202020"),
            ("callto:0388202020", "0388202020"),
            ("callto://0388202020", "0388202020"),
            ("callto://+33388202020/", "+33388202020"),
            ("callto:03%2088%2020%2020%2020", "0388202020"),
            ("sip:0388202020@pbx.example", "0388202020"),
            (
                "sips:+33388202020@pbx.example;transport=tls",
                "+33388202020",
            ),
            ("sip:1003;user=phone@pbx", "1003"),
            ("*21#", "*21#"),
            ("tel:%2B33388202020", "+33388202020"),
        ];
        for (input, want) in cases {
            assert_eq!(n(input), Ok(want.replace(' ', "")), "{input}");
        }
    }

    #[test]
    fn tel_parameters() {
        let t = parse_target("tel:7042;phone-context=example.com;ext=12").unwrap();
        assert_eq!(t.number, "7042");
        assert_eq!(t.extension.as_deref(), Some("12"));
        assert_eq!(t.phone_context.as_deref(), Some("example.com"));
        assert_eq!(
            parse_target("tel:+33388202020;isub=1").unwrap().number,
            "+33388202020"
        );
        assert!(matches!(
            parse_target("tel:0388;ext="),
            Err(NumberError::BadParameter(_))
        ));
        assert!(matches!(
            parse_target("tel:0388;;"),
            Err(NumberError::BadParameter(_))
        ));
    }

    #[test]
    fn refused() {
        assert_eq!(n(""), Err(NumberError::Empty));
        assert_eq!(n("  "), Err(NumberError::Empty));
        assert_eq!(n("tel:"), Err(NumberError::Empty));
        assert_eq!(n("+"), Err(NumberError::Empty));
        assert_eq!(n("0388a"), Err(NumberError::BadChar('a', 5)));
        assert_eq!(n("0388&x=1"), Err(NumberError::BadChar('&', 5)));
        assert_eq!(n("0388;rm"), Err(NumberError::BadChar(';', 5)));
        assert_eq!(n("03$(reboot)"), Err(NumberError::BadChar('$', 3)));
        assert_eq!(n("0388\r\nX: y"), Err(NumberError::BadChar('\r', 5)));
        assert_eq!(n("callto:0388%0d%0a"), Err(NumberError::BadChar('\r', 12)));
        assert_eq!(n("03+88"), Err(NumberError::BadChar('+', 3)));
        assert_eq!(n("'0388'"), Err(NumberError::BadChar('\'', 1)));
        assert_eq!(n(&"1".repeat(65)), Err(NumberError::TooLong(65)));
        assert!(n(&"1".repeat(64)).is_ok());
        assert_eq!(n("http://evil/"), Err(NumberError::Scheme("http".into())));
        assert_eq!(n("mailto:a@b"), Err(NumberError::Scheme("mailto".into())));
    }

    #[test]
    fn formats() {
        use NumberFormat::*;
        let cases = [
            ("0388202020", AsDialled, "FR", "0388202020"),
            ("0388202020", National, "FR", "0388202020"),
            ("0388202020", E164, "FR", "+33388202020"),
            ("0388202020", International, "FR", "33388202020"),
            ("0388202020", International00, "FR", "0033388202020"),
            ("+33388202020", National, "FR", "0388202020"),
            ("0033388202020", E164, "FR", "+33388202020"),
            ("+33388202020", International00, "FR", "0033388202020"),
            ("+3222345678", International, "FR", "3222345678"),
            ("022345678", E164, "BE", "+3222345678"),
            ("+3222345678", National, "BE", "022345678"),
            ("1003", International, "FR", "1003"),
            ("*21#", E164, "FR", "*21#"),
        ];
        for (n, f, c, want) in cases {
            assert_eq!(format_number(n, f, c).as_deref(), Ok(want), "{n} {f:?} {c}");
        }
        assert!(matches!(
            format_number("0123456789012", E164, "FR"),
            Err(NumberError::Length(..))
        ));
    }

    /// Every row of tests/fixtures/numbers.tsv, written by libphonenumber
    /// (the `phonenumbers` package): the same E.164 number, national form
    /// and refusals, whether or not the French fast path read it.
    #[test]
    fn agrees_with_libphonenumber() {
        use NumberFormat::*;
        let fixture = include_str!("../../../tests/fixtures/numbers.tsv");
        let mut checked = 0;
        let mut failures = Vec::new();
        for line in fixture.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = line.split('\t').collect();
            let (country, input) = (cols[0], cols[1]);
            let cleaned = match parse_target(input) {
                Ok(t) => t.number,
                Err(e) => {
                    failures.push(format!("{country} {input}: {e}"));
                    continue;
                }
            };
            let short =
                !cleaned.starts_with('+') && !cleaned.starts_with("00") && cleaned.len() <= 6;
            let got = (
                format_number(&cleaned, E164, country),
                format_number(&cleaned, National, country),
            );
            let ok = match (cols[2], &got) {
                _ if short => got.0.as_deref() == Ok(cleaned.as_str()),
                ("ok", (Ok(e), Ok(n))) => {
                    let digits = e.trim_start_matches('+');
                    e == cols[3]
                        && n == cols[4]
                        && format_number(&cleaned, International, country).as_deref() == Ok(digits)
                        && format_number(&cleaned, International00, country).as_deref()
                            == Ok(format!("00{digits}").as_str())
                }
                ("err", (Err(NumberError::Length(..)), Err(_))) => {
                    matches!(cols[3], "TOO_LONG" | "TOO_SHORT" | "INVALID_LENGTH")
                }
                ("err", (Err(_), Err(_))) => true,
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{country} {input}: want {:?}, got {got:?}",
                    &cols[2..]
                ));
            }
            checked += 1;
        }
        assert!(checked > 1000, "{checked} rows");
        assert!(
            failures.is_empty(),
            "{} of {checked}:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// The promise of a fast dial: a French number in its usual forms, in
    /// every format, never loads the metadata.
    #[test]
    fn french_numbers_do_not_load_the_metadata() {
        use NumberFormat::*;
        let forms = [
            "0388202020",
            "+33388202020",
            "+33 (0)3 88 20 20 20",
            "0033 (0)3 88 20 20 20",
            "+33 0388202020",
            "33388202020",
            "tel:88202020;phone-context=+33-3",
            "1003",
        ];
        for form in forms {
            for format in [AsDialled, National, E164, International, International00] {
                let number = parse_target(form).unwrap().number;
                format_number(&number, format, "FR").unwrap();
                assert_eq!(metadata::USES.with(|u| u.get()), 0, "{form} {format:?}");
            }
        }
        format_number("+41446681800", National, "FR").unwrap();
        assert!(metadata::USES.with(|u| u.get()) > 0, "the counter counts");
    }

    #[test]
    fn identities() {
        assert_eq!(identity_of_international("33388202020"), "+33388202020");
        assert_eq!(identity_of_international("330388202020"), "+33388202020");
        assert_eq!(identity_of_international("41446681800"), "+41446681800");
        assert_eq!(identity_of_international("1003"), "1003");
        let voicemail = "1".repeat(22);
        assert_eq!(identity_of_international(&voicemail), voicemail);
        for form in [
            "0388202020",
            "+33 (0)3 88 20 20 20",
            "0033388202020",
            "33388202020",
            "tel:88202020;phone-context=+33-3",
        ] {
            assert_eq!(
                identity(form, "FR").as_deref(),
                Ok("+33388202020"),
                "{form}"
            );
        }
        assert_eq!(identity("1003", "FR").as_deref(), Ok("1003"));
        assert!(identity("+33 6 12 34 56 78 90 12", "FR").is_err());
        assert_eq!(
            identity_in("+33388202020", NumberFormat::National, "FR"),
            "0388202020"
        );
        assert_eq!(
            identity_in("+41446681800", NumberFormat::National, "FR"),
            "0041446681800"
        );
        assert_eq!(identity_in("1003", NumberFormat::E164, "FR"), "1003");
    }

    /// The French fast path reads only what the metadata reads the same way.
    #[test]
    fn french_fast_path_agrees_with_the_metadata() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut fast = 0;
        for _ in 0..20_000 {
            let len = 7 + (next() % 8) as usize;
            let mut n: String = (0..len)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            match next() % 6 {
                0 => n.insert_str(0, "+33"),
                1 => n.insert_str(0, "0033"),
                2 => n.insert_str(0, "+330"),
                3 => n.insert_str(0, "33"),
                4 => n.insert(0, '0'),
                _ => {}
            }
            if let Some(quick) = read_french(&n) {
                fast += 1;
                assert_eq!(metadata::read(&n, "FR"), Ok(quick.clone()), "{n}");
                assert_eq!(
                    quick.format(NumberFormat::National, "FR"),
                    metadata::national_from(&quick, "FR"),
                    "{n}"
                );
            }
        }
        assert!(fast > 1_500, "{fast}");
    }

    #[test]
    fn uri_detection() {
        assert!(is_dial_uri("tel:123"));
        assert!(is_dial_uri("CallTo://123"));
        assert!(is_dial_uri("sips:1@x"));
        assert!(!is_dial_uri("check"));
        assert!(!is_dial_uri("0388202020"));
        assert!(!is_dial_uri("http://x"));
    }
}
