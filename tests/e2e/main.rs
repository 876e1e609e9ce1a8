//! End-to-end tests: they drive the built `faultline` binary with real plugin
//! components, first-party and hostile ones.

mod conformance;
mod corpus;
mod hostile;
mod loading;
mod lowering;
mod operate;
mod polyglot;
mod process;
mod scaffold;
mod sentry;
mod serve;
mod signing;
mod support;
