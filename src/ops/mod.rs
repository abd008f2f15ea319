//! Operations on tasks that every front end (the CLI, MCP, HTTP) calls the same way: each
//! validates its request, asks the lifecycle for the change and has the store apply it. Front
//! ends only translate their input into these calls and the results into their output.

pub mod cancel;
pub mod logs;
pub mod pause;
pub mod prune;
pub mod reschedule;
pub mod retry;
pub mod schedule;
