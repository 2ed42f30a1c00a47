//! HTTPS: the server's certificate chain and key, read from PEM files
//! (`<tls_cert>`, `<tls_key>`), checked before anyone connects (readable,
//! a certificate and a key that belong together, valid today), and read
//! again without dropping a connection when the files change or on
//! SIGHUP: each new connection gets the certificate of the moment.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Where the certificate chain and its key are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The chain in PEM, the server's certificate first.
    pub cert: PathBuf,
    /// Its private key in PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why the certificate cannot be served.
#[derive(Debug)]
pub enum TlsError {
    /// A file cannot be read.
    Unreadable(PathBuf, std::io::Error),
    /// The certificate file holds no certificate in PEM.
    NoCertificate(PathBuf),
    /// The key file holds no private key in PEM (or a broken one).
    NoKey(PathBuf, String),
    /// The key is not the certificate's, or cannot be used.
    Mismatch(String),
    /// The server's certificate cannot be read as X.509.
    Garbled(String),
    /// Valid from a later date.
    NotYetValid(String),
    /// Expired.
    Expired(String),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::Unreadable(p, e) => write!(f, "{} cannot be read: {e}", p.display()),
            TlsError::NoCertificate(p) => write!(
                f,
                "{} holds no certificate (a PEM file whose blocks start with `-----BEGIN CERTIFICATE-----`)",
                p.display()
            ),
            TlsError::NoKey(p, why) => write!(
                f,
                "{} holds no private key ({why}; a PEM file with a `-----BEGIN PRIVATE KEY-----` block)",
                p.display()
            ),
            TlsError::Mismatch(why) => {
                write!(f, "the private key does not belong to the certificate ({why})")
            }
            TlsError::Garbled(why) => write!(f, "the certificate cannot be read: {why}"),
            TlsError::NotYetValid(from) => write!(f, "the certificate is valid only from {from}"),
            TlsError::Expired(on) => write!(f, "the certificate expired on {on}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// A certificate or key file, refused past [`ctibridge_lang::source::MAX_PEM`].
fn read_pem(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    ctibridge_lang::source::read_bounded(path, ctibridge_lang::source::MAX_PEM, "a PEM file")
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks the chain and key of `files`, at `now` (seconds since
/// 1970).
pub fn load(files: &TlsFiles, now: i64) -> Result<CertifiedKey, TlsError> {
    let cert_pem =
        read_pem(&files.cert).map_err(|e| TlsError::Unreadable(files.cert.clone(), e))?;
    let key_pem = read_pem(&files.key).map_err(|e| TlsError::Unreadable(files.key.clone(), e))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    let Some(leaf) = chain.first() else {
        return Err(TlsError::NoCertificate(files.cert.clone()));
    };
    check_dates(leaf, now)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        let why = match e {
            rustls_pki_types::pem::Error::NoItemsFound => "none found".to_owned(),
            e => e.to_string(),
        };
        TlsError::NoKey(files.key.clone(), why)
    })?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| TlsError::Mismatch(e.to_string()))
}

/// The server's certificate is valid at `now`.
fn check_dates(leaf: &CertificateDer<'_>, now: i64) -> Result<(), TlsError> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| TlsError::Garbled(e.to_string()))?;
    let validity = cert.validity();
    if now < validity.not_before.timestamp() {
        return Err(TlsError::NotYetValid(validity.not_before.to_string()));
    }
    if now > validity.not_after.timestamp() {
        return Err(TlsError::Expired(validity.not_after.to_string()));
    }
    Ok(())
}

/// A self-signed certificate clients accept: the one line `check --server`
/// and the docs give (OpenSSL 3's plain `req -x509` makes a certificate
/// authority's, which TLS clients refuse as a server's own).
pub const SELF_SIGNED_RECIPE: &str = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 -subj /CN=cti.example.com -addext subjectAltName=DNS:cti.example.com,DNS:localhost,IP:127.0.0.1 -addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth -keyout key.pem -out cert.pem";

/// Whether the server's certificate of `files` is a certificate
/// authority's (`CA:TRUE`): rustls and the other strict TLS clients refuse
/// it as a server's own ("CaUsedAsEndEntity"), whoever trusts it.
pub fn is_authority(files: &TlsFiles) -> bool {
    let Ok(pem) = read_pem(&files.cert) else {
        return false;
    };
    let Some(leaf) = CertificateDer::pem_slice_iter(&pem).find_map(Result::ok) else {
        return false;
    };
    x509_parser::parse_x509_certificate(leaf.as_ref())
        .ok()
        .and_then(|(_, cert)| cert.basic_constraints().ok().flatten().map(|b| b.value.ca))
        .unwrap_or(false)
}

/// When the server's certificate of `files` expires: the date, and in
/// seconds since 1970 (`doctor`).
pub fn not_after(files: &TlsFiles) -> Option<(String, i64)> {
    let pem = read_pem(&files.cert).ok()?;
    let leaf = CertificateDer::pem_slice_iter(&pem).find_map(Result::ok)?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
    let t = cert.validity().not_after;
    Some((t.to_datetime().date().to_string(), t.timestamp()))
}

/// Seconds since 1970, now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The certificate of the moment, handed to each new connection.
#[derive(Debug)]
pub struct Current {
    files: TlsFiles,
    key: RwLock<Arc<CertifiedKey>>,
    /// What the files looked like when last read (size, modified).
    seen: RwLock<Option<Stamp>>,
}

type Stamp = [(u64, Option<std::time::SystemTime>); 2];

fn stamp(files: &TlsFiles) -> Option<Stamp> {
    let one = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.len(), m.modified().ok()))
    };
    Some([one(&files.cert)?, one(&files.key)?])
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.key.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

impl Current {
    /// Reads `files` (an error: nothing can be served).
    pub fn new(files: TlsFiles) -> Result<Current, TlsError> {
        let seen = stamp(&files);
        let key = load(&files, unix_now())?;
        Ok(Current {
            files,
            key: RwLock::new(Arc::new(key)),
            seen: RwLock::new(seen),
        })
    }

    /// Whether the files changed since they were last read.
    pub fn changed(&self) -> bool {
        stamp(&self.files) != *self.seen.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the files again; on an error the certificate served stays the
    /// one before.
    pub fn reload(&self) -> Result<(), TlsError> {
        let seen = stamp(&self.files);
        *self.seen.write().unwrap_or_else(|p| p.into_inner()) = seen;
        let key = load(&self.files, unix_now())?;
        *self.key.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
        Ok(())
    }

    /// The TLS side of the server: HTTP/1.1 only.
    pub fn acceptor(self: &Arc<Self>) -> tokio_rustls::TlsAcceptor {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

/// How often the files are looked at for a change.
pub const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Reads the files again on SIGHUP, or when they change (looked at every
/// [`WATCH_EVERY`]), off the runtime's thread; says so in the log. Runs
/// until dropped.
pub async fn keep_fresh(current: Arc<Current>) {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        #[cfg(unix)]
        let asked = async {
            match hangup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let asked = std::future::pending::<()>();
        let signalled = tokio::select! {
            _ = asked => true,
            _ = tick.tick() => false,
        };
        let c = current.clone();
        let done = tokio::task::spawn_blocking(move || {
            if signalled || c.changed() {
                Some(c.reload())
            } else {
                None
            }
        })
        .await;
        match done {
            // A renewal is the ordinary course of things: info, not a warning.
            Ok(Some(Ok(()))) => tracing::info!(
                target: crate::infra::lifecycle::LIFECYCLE,
                cert = %current.files.cert.display(),
                "TLS certificate read again: new connections get it"
            ),
            Ok(Some(Err(e))) => tracing::error!(
                "TLS certificate not read again ({e}): the one before is still served"
            ),
            _ => {}
        }
    }
}

/// Without a certificate, SIGHUP is said to have nothing to read again
/// (rather than end the process, its default). Runs until dropped.
pub async fn hangups_ignored() {
    #[cfg(unix)]
    if let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        while hangup.recv().await.is_some() {
            tracing::warn!(
                "SIGHUP: no certificate to read again (the server file is read at start only)"
            );
        }
    }
    std::future::pending::<()>().await
}
