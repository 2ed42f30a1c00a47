//! The short names of the files kept in the cache folder
//! ([`crate::context::Context::cache_dir`]).

/// 64-bit FNV-1a: a stable file name, not a secret.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
