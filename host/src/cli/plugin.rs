//! `faultline plugin inspect`: what a component is, as the host sees it.

use std::path::PathBuf;

use faultline::runtime::{Runtime, RuntimeOptions, inspect};

use super::{BAD_CONFIG, OK};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Signs a component (its digest, name and version) with a key from `faultline keygen`.
    #[command(display_order = 4)]
    Sign {
        /// The secret key file (`NAME.key`).
        #[arg(long)]
        key: PathBuf,
        /// The component.
        file: PathBuf,
        /// Where to write the signature (default: FILE.sig).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Checks a component's signature against a public key.
    #[command(display_order = 5)]
    Verify {
        /// The public key file (`NAME.pub`, or the `NAME.key` itself).
        #[arg(long)]
        key: PathBuf,
        /// The component.
        file: PathBuf,
        /// The signature (default: FILE.sig).
        #[arg(long)]
        signature: Option<PathBuf>,
    },
    /// Writes a buildable plugin project: source, WIT, build script and golden cases.
    #[command(display_order = 1)]
    New {
        /// Plugin name (lowercase letters, digits, dashes); also the project directory.
        name: String,
        /// What the plugin does.
        #[arg(long, value_parser = ["classifier", "enricher", "redactor", "scorer"])]
        role: String,
        /// Language to write it in.
        #[arg(long, value_parser = ["rust", "python", "js"])]
        lang: String,
        /// Directory to create (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Runs golden cases (`*.json` under DIR) against a component and prints a pass/fail table.
    #[command(display_order = 2)]
    Test {
        /// The component, or `builtin:NAME` for a first-party plugin.
        file: String,
        /// Directory of cases (searched recursively).
        #[arg(long)]
        cases: PathBuf,
        /// Also print each case's output document.
        #[arg(long)]
        show: bool,
    },
    /// Prints a component's role, WIT version, metadata, imports, exports, size and digest.
    #[command(display_order = 3)]
    Inspect {
        /// The component.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn test(file: &str, cases: &std::path::Path, show: bool) -> i32 {
    use faultline::conformance::{self, Verdict};
    let cases = match conformance::load_cases(cases) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return BAD_CONFIG;
        }
    };
    let runtime = match Runtime::new(RuntimeOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return super::FAILURE;
        }
    };
    let width = cases.iter().map(|(n, _)| n.len()).max().unwrap_or(4).max(4);
    println!("{:width$}  result", "case");
    let source = conformance::source_of(file);
    let results = conformance::run(&runtime, &source, &cases, |r| {
        let (word, lines) = match &r.verdict {
            Verdict::Pass => ("pass".to_string(), Vec::new()),
            Verdict::Skipped(why) => (format!("skip ({why})"), Vec::new()),
            Verdict::Fail(diffs) => ("FAIL".to_string(), diffs.clone()),
        };
        println!("{:width$}  {word}", r.name);
        for line in lines {
            println!("{:width$}    {line}", "");
        }
        if show && let Some(output) = &r.output {
            println!("{output:#}");
        }
    });
    let count = |f: fn(&Verdict) -> bool| results.iter().filter(|r| f(&r.verdict)).count();
    let failed = count(|v| matches!(v, Verdict::Fail(_)));
    println!(
        "{} passed, {failed} failed, {} skipped",
        count(|v| *v == Verdict::Pass),
        count(|v| matches!(v, Verdict::Skipped(_)))
    );
    if failed == 0 { OK } else { super::FAILURE }
}

fn new(name: &str, role: &str, lang: &str, dir: Option<PathBuf>) -> i32 {
    use faultline::runtime::Role;
    let role = match role {
        "classifier" => Role::Classifier,
        "enricher" => Role::Enricher,
        "redactor" => Role::Redactor,
        _ => Role::Scorer,
    };
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    match faultline::scaffold::create(&dir, name, role, lang) {
        Ok(files) => {
            println!("created {} ({} files)", dir.display(), files.len());
            println!(
                "next: cd {} && ./build.sh && faultline plugin test {name}.wasm --cases cases",
                dir.display()
            );
            OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            BAD_CONFIG
        }
    }
}

/// Loads a component as `inspect` does; reports and returns the exit code on failure.
fn load(file: &std::path::Path) -> Result<(Runtime, faultline::runtime::Plugin), i32> {
    let runtime = Runtime::new(RuntimeOptions::default()).map_err(|e| {
        eprintln!("error: {e}");
        super::FAILURE
    })?;
    let plugin = inspect(&runtime, file).map_err(|e| {
        eprintln!("error: {}: {e}", file.display());
        BAD_CONFIG
    })?;
    Ok((runtime, plugin))
}

fn sign(key: &std::path::Path, file: &std::path::Path, out: Option<PathBuf>) -> i32 {
    use faultline::signing;
    let (_runtime, plugin) = match load(file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let m = &plugin.metadata;
    let result = signing::sign(key, &plugin.digest, &m.name, &m.version).and_then(|sig| {
        let path = out.unwrap_or_else(|| signing::signature_path(file));
        signing::write_signature(&path, &sig).map(|()| (path, sig))
    });
    match result {
        Ok((path, sig)) => {
            println!(
                "signed {} {} ({}) as {:?}: {}",
                m.name,
                m.version,
                plugin.digest,
                sig.signer,
                path.display()
            );
            OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            BAD_CONFIG
        }
    }
}

fn verify(key: &std::path::Path, file: &std::path::Path, signature: Option<PathBuf>) -> i32 {
    use faultline::signing;
    use sha2::Digest;
    // The bytes are checked before anything is compiled.
    let path = signature.unwrap_or_else(|| signing::signature_path(file));
    let checked = std::fs::read(file)
        .map_err(|e| format!("{e}"))
        .and_then(|bytes| {
            let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes)));
            let public = signing::read_public(key).map_err(|e| e.to_string())?;
            let sig = signing::read_signature(&path).map_err(|e| e.to_string())?;
            signing::verify(&sig, &public, &digest, &sig.plugin, &sig.version)
                .map_err(|e| e.to_string())?;
            Ok((public, sig))
        });
    let (public, sig) = match checked {
        Ok(ok) => ok,
        Err(e) => {
            eprintln!("error: {}: {e}", file.display());
            return super::FAILURE;
        }
    };
    let (_runtime, plugin) = match load(file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let m = &plugin.metadata;
    if let Err(e) = signing::verify(&sig, &public, &plugin.digest, &m.name, &m.version) {
        eprintln!("error: {}: {e}", file.display());
        return super::FAILURE;
    }
    println!(
        "ok: {} {} ({}) is signed by {:?} ({})",
        m.name,
        m.version,
        plugin.digest,
        public.name,
        public.encoded()
    );
    OK
}

pub fn run(cmd: Command) -> i32 {
    match cmd {
        Command::Sign { key, file, out } => sign(&key, &file, out),
        Command::Verify {
            key,
            file,
            signature,
        } => verify(&key, &file, signature),
        Command::New {
            name,
            role,
            lang,
            dir,
        } => new(&name, &role, &lang, dir),
        Command::Test { file, cases, show } => test(&file, &cases, show),
        Command::Inspect { file, json } => {
            let runtime = match Runtime::new(RuntimeOptions::default()) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return super::FAILURE;
                }
            };
            let plugin = match inspect(&runtime, &file) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {}: {e}", file.display());
                    return BAD_CONFIG;
                }
            };
            let version = plugin
                .exports
                .iter()
                .find_map(|e| {
                    e.strip_prefix("faultline:plugin/")
                        .and_then(|r| r.split_once('@'))
                        .map(|(_, v)| v.to_string())
                })
                .unwrap_or_default();
            if json {
                let doc = serde_json::json!({
                    "file": file.display().to_string(),
                    "role": plugin.role.name(),
                    "wit": format!("faultline:plugin@{version}"),
                    "name": plugin.metadata.name,
                    "version": plugin.metadata.version,
                    "description": plugin.metadata.description,
                    "reads": faultline::runtime::parts::names(plugin.metadata.reads),
                    "argument_block": plugin.argument_block,
                    "size": plugin.size,
                    "sha256": plugin.digest.trim_start_matches("sha256:"),
                    "imports": plugin.imports,
                    "exports": plugin.exports,
                });
                println!("{}", serde_json::to_string_pretty(&doc).expect("json"));
            } else {
                println!("file:        {}", file.display());
                println!("role:        {}", plugin.role);
                println!("wit:         faultline:plugin@{version}");
                println!("name:        {}", plugin.metadata.name);
                println!("version:     {}", plugin.metadata.version);
                println!("description: {}", plugin.metadata.description);
                println!(
                    "reads:       {}",
                    faultline::runtime::parts::describe(plugin.metadata.reads)
                );
                println!(
                    "arguments:   {}",
                    if plugin.argument_block {
                        "one allocation per call (it carries the faultline:argument-block section)"
                    } else {
                        "one allocation per string and list"
                    }
                );
                println!("size:        {} bytes", plugin.size);
                println!(
                    "sha256:      {}",
                    plugin.digest.trim_start_matches("sha256:")
                );
                println!("imports:");
                for i in &plugin.imports {
                    println!("  {i}");
                }
                println!("exports:");
                for e in &plugin.exports {
                    println!("  {e}");
                }
            }
            OK
        }
    }
}
