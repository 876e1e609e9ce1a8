//! Types and exports of `faultline:plugin@0.1.0`, generated from `wit/`.
//! The WIT's `///` comments are the documentation of what is generated here.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "host-bindings",
});
