//! Progress bars for long work (`import`, `export`, `run -v`), drawn with indicatif on stderr
//! when both stdout and stderr are terminals; nothing at all when either is piped, so cron
//! mail and scripts see only what they always saw. Not a command.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether bars are drawn in this process.
pub fn on_terminal() -> bool {
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

/// A bar counting `what` (tasks) toward a total that may grow; hidden until there is work.
pub fn counter(what: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
    let template = format!("{{spinner}} {{bar:30}} {{pos}}/{{len}} {what} {{elapsed}} {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Starts drawing `bar` (on a terminal only).
pub fn show(bar: &ProgressBar) {
    if bar.is_hidden() && on_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.tick();
    }
}

/// The `defer run -v` reporter: a bar of the tasks claimed and finished; `-v` lines are
/// printed above it.
#[derive(Debug)]
pub struct RunBar(pub ProgressBar);

impl crate::runner::Progress for RunBar {
    fn claimed(&self, n: usize) {
        self.0.inc_length(n as u64);
        show(&self.0);
    }

    fn finished(&self) {
        self.0.inc(1);
    }

    fn println(&self, line: &str) {
        self.0.suspend(|| println!("{line}"));
    }
}
