//! `faultline plugin new`: every role in every language builds, passes its
//! own golden cases and the role conformance cases, and its README's config
//! snippet passes `check`.

use std::path::Path;
use std::process::Command;

use crate::support::{faultline, repo, temp_dir, write};

const ROLES: &[&str] = &["classifier", "enricher", "redactor", "scorer"];

fn scaffold_and_check(lang: &str, prepare: impl Fn(&Path)) {
    let parent = temp_dir(&format!("scaffold-{lang}"));
    for role in ROLES {
        let name = format!("acme-{lang}-{role}");
        let dir = parent.join(&name);
        let run = faultline(
            &[
                "plugin",
                "new",
                &name,
                "--role",
                role,
                "--lang",
                lang,
                "--dir",
                dir.to_str().unwrap(),
            ],
            "",
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        prepare(&dir);
        let build = Command::new(dir.join("build.sh"))
            // One target directory for every Rust scaffold: dependencies build once.
            .env("CARGO_TARGET_DIR", repo().join("target/scaffold-build"))
            .output()
            .unwrap();
        assert!(
            build.status.success(),
            "{name}: build failed:\n{}",
            String::from_utf8_lossy(&build.stderr)
        );
        let wasm = dir.join(format!("{name}.wasm"));
        for cases in [dir.join("cases"), repo().join("tests/conformance")] {
            let run = faultline(
                &[
                    "plugin",
                    "test",
                    wasm.to_str().unwrap(),
                    "--cases",
                    cases.to_str().unwrap(),
                ],
                "",
            );
            assert_eq!(
                run.code,
                0,
                "{name} on {}:\n{}",
                cases.display(),
                run.stdout
            );
            assert!(run.stdout.contains(" 0 failed"), "{}", run.stdout);
        }
        // The README's config snippet, as written, loads.
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        let snippet = readme
            .split("```toml\n")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .unwrap();
        let config = write(&dir, "faultline.toml", snippet);
        let check = faultline(&["check", "--config", &config], "");
        assert_eq!(check.code, 0, "{name}: {}", check.stderr);
    }
    // The same name twice is refused, naming the directory.
    let again = parent.join(format!("acme-{lang}-scorer"));
    let run = faultline(
        &[
            "plugin",
            "new",
            "acme",
            "--role",
            "scorer",
            "--lang",
            lang,
            "--dir",
            again.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
}

#[test]
fn rust_scaffolds_build_and_pass_their_cases() {
    scaffold_and_check("rust", |_| {});
}

#[test]
fn python_scaffolds_build_and_pass_their_cases() {
    scaffold_and_check("python", |_| {});
}

#[test]
fn js_scaffolds_build_and_pass_their_cases() {
    // The scaffold's build.sh runs `npm install` when it has no node_modules;
    // here it borrows the example's, which scripts/setup.sh installed from
    // the same pinned versions.
    let modules = repo().join("examples/plugins/js-scorer/node_modules");
    scaffold_and_check("js", |dir| {
        std::os::unix::fs::symlink(&modules, dir.join("node_modules")).unwrap();
    });
}

#[test]
fn bad_names_and_languages_are_refused() {
    let dir = temp_dir("scaffold-bad");
    let run = faultline(
        &[
            "plugin",
            "new",
            "Bad_Name",
            "--role",
            "scorer",
            "--lang",
            "rust",
            "--dir",
            dir.join("x").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not a plugin name"), "{}", run.stderr);
    let run = faultline(
        &["plugin", "new", "ok", "--role", "scorer", "--lang", "cobol"],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("rust, python, js"), "{}", run.stderr);
}
