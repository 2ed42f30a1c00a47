//! ctibridge's cache folder (tokens, pacing, the OVH clock offset) and the
//! short names of the files kept there.

use std::path::PathBuf;

/// ctibridge's cache folder: `CTIBRIDGE_CACHE_DIR`, else the platform's.
pub fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("CTIBRIDGE_CACHE_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            directories::ProjectDirs::from("", "", "ctibridge").map(|p| p.cache_dir().to_path_buf())
        })
}

/// 64-bit FNV-1a: a stable file name, not a secret.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
