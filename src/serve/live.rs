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
                    // The wait sleeps until a change or a stop signal; the slice only bounds
                    // how long a stop without a signal (a panic elsewhere) goes unseen. Each
                    // slice that ends wakes an idle server, so it is long.
                    match store.wait_for_change(Duration::from_secs(10 * 60)) {
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

/// How often a followed attempt's files are looked at.
const TAIL_EVERY: Duration = Duration::from_millis(300);

/// `GET /tasks/{id}/tail`: what the running attempt of a task prints, as it prints it — events
/// `out` and `err` carrying new text (control characters shown as `\u{…}`, lines kept), then
/// `end` when the attempt has ended (or at once when none runs).
pub async fn tail(
    State(app): State<Arc<App>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel(16);
    let stop = app.live.stop;
    tokio::spawn(async move {
        let mut offsets = [0u64; 2];
        let mut tick = tokio::time::interval(TAIL_EVERY);
        loop {
            tick.tick().await;
            if stop.load(Ordering::Relaxed) || tx.is_closed() {
                return;
            }
            let asked = id.clone();
            let found = app
                .blocking(move |config, store| {
                    let logs = crate::ops::logs::logs(
                        config,
                        store,
                        &crate::ops::logs::LogsRequest { id: asked.clone() },
                    )?;
                    let running = logs
                        .last()
                        .filter(|a| a.outcome.is_none() && logs.running)
                        .map(|a| a.attempt);
                    Ok(running.map(|n| crate::ops::logs::live_files(config, &asked, n)))
                })
                .await;
            let files = match found {
                Ok(Some(files)) => files,
                // Not running (or gone): the page shows what the record holds.
                Ok(None) | Err(_) => {
                    let _ = tx
                        .send(Ok(Event::default().event("end").data("ended")))
                        .await;
                    return;
                }
            };
            for (i, path) in files.iter().enumerate() {
                let Some(text) = read_from(path, &mut offsets[i]) else {
                    continue;
                };
                let event = if i == 0 { "out" } else { "err" };
                if tx
                    .send(Ok(Event::default().event(event).data(text)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    });
    Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::default())
}

/// The text added to `path` since `offset` (moved past it), escaped for display line by
/// line; `None` when there is nothing new (or no file yet).
fn read_from(path: &std::path::Path, offset: &mut u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).ok()?;
    file.seek(SeekFrom::Start(*offset)).ok()?;
    // A bounded read per look: a runaway executor cannot fill the connection.
    let mut more = Vec::new();
    file.take(256 * 1024).read_to_end(&mut more).ok()?;
    if more.is_empty() {
        return None;
    }
    // Up to the last whole character: the rest comes with the next look.
    let cut = match std::str::from_utf8(&more) {
        Ok(_) => more.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => more.len(),
    };
    *offset += cut as u64;
    let text = String::from_utf8_lossy(&more[..cut]);
    Some(
        text.split('\n')
            .map(|l| crate::output::escape(l).into_owned())
            .collect::<Vec<_>>()
            .join("\n"),
    )
}
