//! The voice worker's suites, in one test binary: the worker built by the real wiring
//! (`Worker::build`) on fakes for voice, Discord and presence, a manual clock, and a real
//! store and bus.

mod support;

mod consumer;
mod health;
mod player;
mod songbird_adapter;
