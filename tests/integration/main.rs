//! One integration-test binary: each module drives the real `defer` binary in a fresh
//! temporary runtime directory.

mod util;

mod browser;
mod cli;
mod conformance;
mod doctor;
mod examples;
mod faults;
mod followups;
mod frontends;
mod housekeeping;
mod live_output;
mod mcp;
mod metrics;
mod operators;
mod postgres;
mod postgres_tls;
mod props;
mod races;
mod recurring;
mod runner;
mod security;
mod serve;
mod serve_login;
mod skill;
mod stores;
mod time_words;
mod unique;
