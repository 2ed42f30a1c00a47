//! What the user clicked: a bare number or a `tel:`, `callto:`, `sip:` URI,
//! turned into the digits to dial, or refused before anything is sent.

use std::fmt;

use crate::config::NumberFormat;

/// Longest input accepted, in characters.
pub const MAX_INPUT: usize = 64;

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
    Ok(target)
}

/// Puts a cleaned number (digits, `*`, `#`, leading `+`) in `format`, for a
/// number without international prefix from `country`.
///
/// The common cases need no library: a number already in the right form,
/// `+` and `00` swapped, short internal extensions, and French national
/// numbers (always `0` and nine digits). Only the others load the
/// libphonenumber metadata, which costs tens of milliseconds.
pub fn format_number(
    number: &str,
    format: NumberFormat,
    country: &str,
) -> Result<String, NumberError> {
    use NumberFormat::*;
    let intl = number
        .strip_prefix('+')
        .or_else(|| number.strip_prefix("00"));
    let digits_only = number.chars().all(|c| c.is_ascii_digit());
    let quick = match (format, intl) {
        (AsDialled, _) => Some(number.to_owned()),
        // Not a public number: an extension or a feature code.
        (_, None) if number.len() <= 6 || !digits_only => Some(number.to_owned()),
        (E164, Some(rest)) => Some(format!("+{rest}")),
        (International, Some(rest)) => Some(rest.to_owned()),
        (International00, Some(rest)) => Some(format!("00{rest}")),
        (National, None) if number.starts_with('0') => Some(number.to_owned()),
        (_, None)
            if country.eq_ignore_ascii_case("FR")
                && number.len() == 10
                && number.starts_with('0') =>
        {
            let nsn = &number[1..];
            Some(match format {
                E164 => format!("+33{nsn}"),
                International => format!("33{nsn}"),
                International00 => format!("0033{nsn}"),
                AsDialled | National => number.to_owned(),
            })
        }
        _ => None,
    };
    match quick {
        Some(n) => Ok(n),
        None => format_with_metadata(number, format, country),
    }
}

fn format_with_metadata(
    number: &str,
    format: NumberFormat,
    country: &str,
) -> Result<String, NumberError> {
    let id: Option<phonenumber::country::Id> = country.parse().ok();
    let e164_input = match number.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => number.to_owned(),
    };
    let parsed = phonenumber::parse(id, &e164_input).map_err(|_| {
        NumberError::Unformattable(number.to_owned(), "not a phone number of a known plan")
    })?;
    if !phonenumber::is_valid(&parsed) {
        return Err(NumberError::Unformattable(
            number.to_owned(),
            "not a valid number",
        ));
    }
    let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
    let rest = e164.trim_start_matches('+');
    Ok(match format {
        NumberFormat::E164 => e164.clone(),
        NumberFormat::International => rest.to_owned(),
        NumberFormat::International00 => format!("00{rest}"),
        NumberFormat::National => parsed
            .format()
            .mode(phonenumber::Mode::National)
            .to_string()
            .chars()
            .filter(|c| c.is_ascii_digit())
            .collect(),
        NumberFormat::AsDialled => number.to_owned(),
    })
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
            Err(NumberError::Unformattable(..))
        ));
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
