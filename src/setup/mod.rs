//! What starts the runner on this host: the crontab line `defer cron` manages (and reads
//! back for `doctor`). The systemd and launchd units live in `contrib/`; `doctor` reads their
//! variables in `ops::doctor`.

pub mod cron;
