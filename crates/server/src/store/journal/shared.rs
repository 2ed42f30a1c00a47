//! The journal as the server's tasks share it: the writer's connection,
//! and, for a journal in a file, a read-only connection of the readers'
//! own (histories, the wall, the desks' missed calls). With SQLite's
//! write-ahead log a reader sees the last commit and never waits for the
//! writer, nor the writer for it: a long history does not delay a commit,
//! and so an acknowledgement.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::store::calls::{CallStore, StoreResult};
use crate::store::journal::log::Journal;

/// A store shared between the runtime's tasks, taken on a blocking thread.
type Shared = Arc<Mutex<dyn CallStore>>;

#[derive(Clone)]
pub struct SharedJournal {
    /// The journal's thread writes through it (group commit), and the
    /// routes' changes (a desk's logout, the outbox) go through it too.
    writing: Arc<Mutex<Journal>>,
    /// The readers' store: the same connection as `writing` for a journal
    /// in memory (a second connection would open another, empty,
    /// database); any [`CallStore`] a backend reads with.
    reading: Shared,
}

impl SharedJournal {
    /// `journal`, with `reader` (a read-only connection to the same file)
    /// for the readers, or without (they share the writer's).
    pub fn new(journal: Journal, reader: Option<Journal>) -> SharedJournal {
        let writing = Arc::new(Mutex::new(journal));
        let reading: Shared = match reader {
            Some(r) => Arc::new(Mutex::new(r)),
            None => writing.clone(),
        };
        SharedJournal::with_readers(writing, reading)
    }

    /// The journal `writing`, its readers reading through `reading`.
    pub fn with_readers(writing: Arc<Mutex<Journal>>, reading: Shared) -> SharedJournal {
        SharedJournal { writing, reading }
    }

    /// The writer's connection (the journal's thread, the outbox).
    pub fn writing(&self) -> &Arc<Mutex<Journal>> {
        &self.writing
    }

    /// The writer's connection, here and now (at start, before the
    /// journal's thread and the runtime's tasks use it).
    pub fn writer(&self) -> MutexGuard<'_, Journal> {
        self.writing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `f` on the readers' connection, on a thread that may block; its
    /// error as text.
    pub async fn read<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&dyn CallStore) -> StoreResult<T> + Send + 'static,
    {
        off_the_runtime(self.reading.clone(), f).await
    }

    /// `f` on the writer's connection (a change: a desk's logout, the
    /// missed calls it saw), on a thread that may block.
    pub async fn write<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce(&dyn CallStore) -> StoreResult<T> + Send + 'static,
    {
        off_the_runtime(self.writing.clone(), f).await
    }
}

/// The one way the runtime's tasks reach the journal: on a blocking
/// thread, so that the runtime, which serves everyone on one thread, never
/// waits for SQLite.
pub async fn off_the_runtime<T, F>(store: Shared, f: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&dyn CallStore) -> StoreResult<T> + Send + 'static,
{
    let done = tokio::task::spawn_blocking(move || {
        let store = store.lock().unwrap_or_else(|p| p.into_inner());
        f(&*store)
    })
    .await;
    match done {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::Event;
    use crate::store::journal::log::tests::ev;

    /// A reader in the middle of a long read (its transaction open, its
    /// connection held) does not keep the writer from committing: the
    /// readers have a connection of their own, and the write-ahead log lets
    /// both go on. The reader sees the commit once its read is over.
    #[test]
    fn a_long_read_does_not_hold_up_a_commit() {
        let path = std::env::temp_dir().join(format!(
            "ctibridge-journal-readers-{}.sqlite",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        let journal = Journal::open(&path).unwrap();
        journal.record(&ev("a", Event::Ring, "in"), 1_000).unwrap();
        let reading = Arc::new(Mutex::new(Journal::open_read_only(&path).unwrap()));
        let shared = SharedJournal::with_readers(Arc::new(Mutex::new(journal)), reading.clone());
        let reader = reading.lock().unwrap();
        reader.db.execute_batch("BEGIN").unwrap();
        assert_eq!(reader.history("1003", None, 10).unwrap().len(), 1);
        {
            let writing = shared
                .writing()
                .try_lock()
                .expect("the writer's connection is free while a reader reads");
            writing.record(&ev("b", Event::Ring, "in"), 2_000).unwrap();
        }
        // Its snapshot is the one it began with.
        assert_eq!(reader.history("1003", None, 10).unwrap().len(), 1);
        reader.db.execute_batch("COMMIT").unwrap();
        assert_eq!(reader.history("1003", None, 10).unwrap().len(), 2);
        drop(reader);
        drop(shared);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
