//! What the command prints: everything goes through the secret mask
//! ([`ctibridge::redact`]).

macro_rules! out {
    ($($t:tt)*) => { ctibridge::redact::print(&format!($($t)*)) };
}
macro_rules! outln {
    () => { ctibridge::redact::print("\n") };
    ($($t:tt)*) => { ctibridge::redact::print(&format!("{}\n", format_args!($($t)*))) };
}
macro_rules! err {
    ($($t:tt)*) => { ctibridge::redact::eprint(&format!($($t)*)) };
}
macro_rules! errln {
    () => { ctibridge::redact::eprint("\n") };
    ($($t:tt)*) => { ctibridge::redact::eprint(&format!("{}\n", format_args!($($t)*))) };
}
