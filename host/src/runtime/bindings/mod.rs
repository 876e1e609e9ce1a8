//! The host's bindings of the plugin ABI, one module per WIT package version.
//!
//! The rest of the host (events, chains, storage) works with the types of the
//! newest version, re-exported here; nothing outside `runtime` names a
//! version. Adding `0.2.0` beside `0.1.0` means:
//!
//! 1. moving the 0.1.0 package to `wit/deps/faultline-plugin-0.1.0/` (its
//!    `host-bindings` world stays as it is) and `wit/` becoming 0.2.0;
//! 2. a module `v0_2` with its own `bindgen!`, re-exported here instead of
//!    `v0_1`, and conversions between `v0_1`'s types and the new ones;
//! 3. in `load.rs`, `SUPPORTED_VERSIONS` gaining `0.2.0` and `RoleIndices`
//!    one variant per version, so an instance calls a 0.1.0 component through
//!    `v0_1` and converts at the boundary.
//!
//! Chains, storage and the HTTP side do not change: they only ever see the
//! current types.

pub mod v0_1;

pub use v0_1::*;
