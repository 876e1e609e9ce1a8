//! A WASI command: exports `wasi:cli/run`, none of faultline's role interfaces.

fn main() {
    println!("hello from a component that is not a faultline plugin");
}
