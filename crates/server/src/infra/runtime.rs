//! The runtime the server runs on.

/// One thread, which calls `on_park` each time it has nothing left to do
/// (before it waits for the network).
pub fn one_thread(
    on_park: impl Fn() + Send + Sync + 'static,
) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(on_park)
        .build()
}
