//! What the client side takes from its surroundings, handed down by the
//! binary (or the demo, or a test) rather than read from the environment
//! deep inside: for now the cache folder (tokens, the request pace shared
//! by the processes of this machine, OVH's clock offset).

use std::path::{Path, PathBuf};

use crate::provider::pace::Pacer;
use crate::token::TokenStore;

#[derive(Clone, Debug, Default)]
pub struct Context {
    cache_dir: Option<PathBuf>,
}

impl Context {
    /// The cache folder `CTIBRIDGE_CACHE_DIR`, else the platform's.
    pub fn from_env() -> Context {
        let cache_dir = std::env::var_os("CTIBRIDGE_CACHE_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                directories::ProjectDirs::from("", "", "ctibridge")
                    .map(|p| p.cache_dir().to_path_buf())
            });
        Context { cache_dir }
    }

    /// A context whose cache folder is `dir`.
    pub fn with_cache_dir(dir: PathBuf) -> Context {
        Context {
            cache_dir: Some(dir),
        }
    }

    /// ctibridge's cache folder; none when the platform has none.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    /// Where tokens are kept between launches.
    pub fn tokens(&self) -> TokenStore {
        match &self.cache_dir {
            Some(d) => TokenStore::at(d.join("tokens")),
            None => TokenStore::nowhere(),
        }
    }

    /// The request pace shared by the processes of this machine.
    pub fn pacer(&self) -> Pacer {
        match &self.cache_dir {
            Some(d) => Pacer::at(d.join("pace")),
            None => Pacer::nowhere(),
        }
    }
}
