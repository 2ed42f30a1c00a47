//! How the server starts and stops: its log target, and how long a
//! stopping part is waited for.

/// The log target of the server's start and stop lines, which the command
/// line shows at its default verbosity (one line each, for journald).
pub const LIFECYCLE: &str = "ctibridge::serve";
/// How long the stop waits for connections to finish their answer.
pub const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The server's moving parts (its sources and sinks): each started here,
/// all told to stop by one signal, each waited for [`STOP_GRACE`] at most.
pub struct Tasks {
    stop: tokio::sync::watch::Sender<bool>,
    running: Vec<(&'static str, tokio::task::JoinHandle<()>)>,
}

impl Default for Tasks {
    fn default() -> Self {
        Tasks {
            stop: tokio::sync::watch::Sender::new(false),
            running: Vec::new(),
        }
    }
}

impl Tasks {
    /// The stop signal, for a part that watches it itself.
    pub fn stop_flag(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Resolves once the parts are told to stop.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    /// Runs `task` until it ends (it ends when [`Tasks::stopping`] does).
    pub fn spawn(
        &mut self,
        name: &'static str,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        self.running.push((name, tokio::spawn(task)));
    }

    /// A part already running, to wait for at the stop.
    pub fn add(&mut self, name: &'static str, handle: tokio::task::JoinHandle<()>) {
        self.running.push((name, handle));
    }

    /// Tells every part to stop (they finish what they are doing).
    pub fn signal(&self) {
        let _ = self.stop.send(true);
    }

    /// Tells every part to stop, and waits for each, in the order they
    /// started, [`STOP_GRACE`] at most.
    pub async fn stop(self) {
        self.signal();
        for (name, task) in self.running {
            if tokio::time::timeout(STOP_GRACE, task).await.is_err() {
                tracing::warn!(target: LIFECYCLE, "{name} did not stop within {STOP_GRACE:?}");
            }
        }
    }
}
