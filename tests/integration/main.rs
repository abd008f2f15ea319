//! One integration-test binary: each module drives the real `defer` binary in a fresh
//! temporary runtime directory.

mod util;

mod cli;
mod examples;
mod mcp;
mod postgres;
mod runner;
mod stores;
