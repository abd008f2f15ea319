//! Live updates: one thread waits on [`Store::wait_for_change`] and tells every open
//! `/events` stream (server-sent events), so the Upcoming and Tasks pages reload when a task
//! is added, cancelled, claimed or finished.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;

use super::App;
use crate::store::Store;

/// The change feed.
#[derive(Debug)]
pub struct Live {
    changes: broadcast::Sender<()>,
    stop: &'static AtomicBool,
}

impl Live {
    /// Starts the thread that watches `store` until `stop` is set.
    pub fn start(store: Box<dyn Store>, stop: &'static AtomicBool) -> Live {
        let (changes, _) = broadcast::channel(16);
        let sender = changes.clone();
        let spawned = std::thread::Builder::new()
            .name("defer-live".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match store.wait_for_change(Duration::from_millis(250)) {
                        // Nobody listening is fine.
                        Ok(true) => {
                            let _ = sender.send(());
                        }
                        Ok(false) => {}
                        // A database that went away: try again in a while; pages still load.
                        Err(_) => std::thread::sleep(Duration::from_secs(2)),
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("defer serve: live updates are off: cannot start their thread: {e}");
        }
        Live { changes, stop }
    }
}

/// `GET /events`: an event `change` after each change of the store; ends on shutdown.
pub async fn events(
    State(app): State<Arc<App>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut changes = app.live.changes.subscribe();
    let stop = app.live.stop;
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                received = changes.recv() => match received {
                    Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        if tx.send(Ok(Event::default().event("change").data("store"))).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => {
                    if stop.load(Ordering::Relaxed) || tx.is_closed() {
                        return;
                    }
                }
            }
        }
    });
    Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::default())
}
