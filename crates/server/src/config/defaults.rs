//! Every default of the server, from the one table that documents them
//! (the schema's rows of the server's sections): `ServerOptions`,
//! zero-configuration mode (`serve --sim` without a file) and `explain`
//! all read them here.

use std::net::SocketAddr;
use std::time::Duration;

use ctibridge_lang::config::{value::FromKind, NumberFormat};
use ctibridge_lang::schema::{Section, Tag};

/// The default of `tag` in `section`, as its kind reads it.
fn of<T: FromKind>(section: Section, tag: Tag) -> T {
    let def = tag
        .def(section)
        .unwrap_or_else(|| panic!("<{tag}> is not a tag of <{}>", section.name()));
    T::from_text(def.default)
        .unwrap_or_else(|_| panic!("the default of <{tag}> ({:?}) is not valid", def.default))
}

/// `<listen>`: the port of the seed's sample, this machine only.
pub fn listen() -> SocketAddr {
    of(Section::Server, Tag::LISTEN)
}

/// `<hold>`: how long a poll with nothing to say is held, for stations
/// that send their cursor.
pub fn hold() -> Duration {
    of(Section::Server, Tag::HOLD)
}

/// The same for stations that send none: Divalto's engine reads with a
/// one-second timeout (`<timeout3>`), so its polls are answered sooner.
/// Not a tag: a property of that engine.
pub const SHORT_HOLD: Duration = Duration::from_millis(800);

/// `<token_ttl>`.
pub fn token_ttl() -> Duration {
    of(Section::Server, Tag::TOKEN_TTL)
}

/// `<server><rate>`: requests per second per address to the CTI routes.
pub fn cti_rate() -> u32 {
    of(Section::Server, Tag::RATE)
}

/// `<keyyo_notify><rate>`.
pub fn notify_rate() -> u32 {
    of(Section::KeyyoNotify, Tag::RATE)
}

/// `<tel_format>`.
pub fn tel_format() -> NumberFormat {
    of(Section::Server, Tag::TEL_FORMAT)
}

/// `<global><country>`: the country numbers without a country code are
/// read in.
pub fn country() -> String {
    Tag::COUNTRY
        .def(Section::Global)
        .map_or("FR", |d| d.default)
        .to_owned()
}

#[cfg(test)]
mod tests {
    /// Every default reads as its kind (a typo in the table is caught
    /// here, not by a server that will not start).
    #[test]
    fn every_default_reads() {
        let _ = (super::listen(), super::hold(), super::token_ttl());
        let _ = (super::cti_rate(), super::notify_rate(), super::tel_format());
        assert_eq!(super::country(), "FR");
        assert_eq!(super::listen().to_string(), "127.0.0.1:8082");
    }
}
