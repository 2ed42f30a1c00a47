//! What the journal keeps of the browser desks: sessions logged out
//! before their end, and when each desk last saw its missed calls.

use rusqlite::params;

use crate::store::journal::log::Journal;

impl Journal {
    /// The browser desk's sessions logged out and not yet at their end
    /// (`until`, seconds since 1970): those past it are forgotten here.
    pub fn desk_logouts(&self, now_secs: i64) -> rusqlite::Result<Vec<(String, i64)>> {
        self.db
            .execute("DELETE FROM desk_logouts WHERE until <= ?1", [now_secs])?;
        let mut st = self.db.prepare("SELECT nonce, until FROM desk_logouts")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    }

    /// A browser desk's session logged out, worthless until `until`.
    pub fn desk_logout(&self, nonce: &str, until: i64) -> rusqlite::Result<()> {
        self.db.execute(
            "INSERT OR REPLACE INTO desk_logouts (nonce, until) VALUES (?1, ?2)",
            params![nonce, until],
        )?;
        Ok(())
    }

    /// Up to when (ms since 1970) the desk `ident` has seen its missed calls.
    pub fn missed_seen(&self, ident: &str) -> rusqlite::Result<Option<i64>> {
        use rusqlite::OptionalExtension as _;
        self.db
            .query_row(
                "SELECT missed_seen FROM desk_seen WHERE ident = ?1",
                [ident],
                |r| r.get(0),
            )
            .optional()
    }

    /// The desk `ident` has seen its missed calls up to `at`; a mark never
    /// goes back (two browsers of one desk).
    pub fn set_missed_seen(&self, ident: &str, at: i64) -> rusqlite::Result<i64> {
        self.db.execute(
            "INSERT INTO desk_seen (ident, missed_seen) VALUES (?1, ?2)
             ON CONFLICT (ident) DO UPDATE SET missed_seen = max(missed_seen, excluded.missed_seen)",
            params![ident, at],
        )?;
        Ok(self.missed_seen(ident)?.unwrap_or(at))
    }
}
