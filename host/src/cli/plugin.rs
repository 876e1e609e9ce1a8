//! `faultline plugin inspect`: what a component is, as the host sees it.

use std::path::PathBuf;

use faultline::runtime::{Runtime, RuntimeOptions, inspect};

use super::{BAD_CONFIG, OK};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Writes a buildable plugin project: source, WIT, build script and golden cases.
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

pub fn run(cmd: Command) -> i32 {
    match cmd {
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
