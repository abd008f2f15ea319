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
mod mcp;
mod operators;
mod postgres;
mod props;
mod races;
mod recurring;
mod runner;
mod security;
mod serve;
mod skill;
mod stores;
mod time_words;
mod unique;
