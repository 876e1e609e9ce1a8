//! Builds a faultline plugin written in C into a WebAssembly component, the
//! way `wit-bindgen c` + clang + `wasm-tools component new` would:
//!
//! ```sh
//! faultline-c-component --wit wit --world scorer-plugin --out scorer.wasm scorer.c
//! ```
//!
//! 1. generates the C bindings of the world (`<world>.h`, `<world>.c` and the
//!    object holding the component type) into a scratch directory;
//! 2. compiles the sources with clang for `wasm32-wasi` (Debian's `clang`,
//!    `lld` and `wasi-libc`; `$CC` overrides the compiler) as a reactor;
//! 3. encodes the core module as a component, adapting any WASI preview 1
//!    imports (stdout, stderr) to WASI 0.2.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const USAGE: &str =
    "usage: faultline-c-component --wit DIR --world WORLD --out FILE.wasm SOURCE.c...";

struct Args {
    wit: PathBuf,
    world: String,
    out: PathBuf,
    sources: Vec<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut wit = None;
    let mut world = None;
    let mut out = None;
    let mut sources = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--wit" => wit = it.next().map(PathBuf::from),
            "--world" => world = it.next(),
            "--out" => out = it.next().map(PathBuf::from),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with('-') => bail!("unknown option {s}"),
            s => sources.push(PathBuf::from(s)),
        }
    }
    match (wit, world, out) {
        (Some(wit), Some(world), Some(out)) if !sources.is_empty() => Ok(Args {
            wit,
            world,
            out,
            sources,
        }),
        _ => bail!("{USAGE}"),
    }
}

/// Writes the world's C bindings into `dir`; returns the `.c` and `.o` files to link.
fn bindings(wit: &Path, world: &str, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve
        .push_dir(wit)
        .with_context(|| format!("reading the WIT package in {}", wit.display()))?;
    let world = resolve.select_world(&[package], Some(world))?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)?;
    std::fs::create_dir_all(dir)?;
    let mut link = Vec::new();
    for (name, contents) in files.iter() {
        let path = dir.join(name);
        std::fs::write(&path, contents)?;
        if name.ends_with(".c") || name.ends_with(".o") {
            link.push(path);
        }
    }
    Ok(link)
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    let scratch = std::env::temp_dir().join(format!(
        "faultline-c-component-{}-{}",
        args.world,
        std::process::id()
    ));
    let result = build(&args, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn build(args: &Args, scratch: &Path) -> anyhow::Result<()> {
    let generated = bindings(&args.wit, &args.world, scratch)?;
    let core = scratch.join("core.wasm");
    let cc = std::env::var("CC").unwrap_or_else(|_| "clang-14".into());
    let status = Command::new(&cc)
        .args([
            "--target=wasm32-wasi",
            "-O2",
            "-mexec-model=reactor",
            "-Wall",
            "-Werror",
        ])
        .arg("-I")
        .arg(scratch)
        .args(&args.sources)
        .args(&generated)
        .arg("-o")
        .arg(&core)
        .status()
        .with_context(|| {
            format!("running {cc}; install Debian's clang-14, lld-14 and wasi-libc")
        })?;
    if !status.success() {
        bail!("{cc} failed");
    }
    let module = std::fs::read(&core)?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)?
        .adapter(
            "wasi_snapshot_preview1",
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .validate(true)
        .encode()
        .context("encoding the component")?;
    std::fs::write(&args.out, component)
        .with_context(|| format!("writing {}", args.out.display()))?;
    Ok(())
}
