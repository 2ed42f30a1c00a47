//! Random tokens and their written form.

/// `bytes` in lower-case hex: tokens, hashes and fingerprints.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A desk token: 128 bits from the operating system's generator, in hex.
pub fn new_token() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).ok()?;
    Some(hex(&bytes))
}
