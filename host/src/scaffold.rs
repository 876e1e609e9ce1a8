//! `faultline plugin new`: writes a buildable plugin project for a role in
//! Rust, Python or JavaScript, with the WIT it is built against, a build
//! script and golden cases it passes.

use std::path::{Path, PathBuf};

use crate::runtime::Role;

/// Languages a project can be written in.
pub const LANGUAGES: &[&str] = &["rust", "python", "js"];

/// The WIT package, as the host was built with it.
const WIT: &[(&str, &str)] = &[
    ("types.wit", include_str!("../../wit/types.wit")),
    ("host.wit", include_str!("../../wit/host.wit")),
    ("classifier.wit", include_str!("../../wit/classifier.wit")),
    ("enricher.wit", include_str!("../../wit/enricher.wit")),
    ("redactor.wit", include_str!("../../wit/redactor.wit")),
    ("scorer.wit", include_str!("../../wit/scorer.wit")),
    ("worlds.wit", include_str!("../../wit/worlds.wit")),
];

const README: &str = include_str!("../scaffold/README.md");
const BAD_CONFIG_CASE: &str = include_str!("../scaffold/cases/bad-config.json");

/// Per role: its golden case, a description, and a stage config for the README.
fn role_parts(role: Role) -> (&'static str, &'static str, &'static str) {
    match role {
        Role::Classifier => (
            include_str!("../scaffold/cases/classifier.json"),
            "classifies events whose message or exception mentions a word",
            r#"{ code = "APP.TIMEOUT", category = ["app", "timeout"], match = "timeout" }"#,
        ),
        Role::Enricher => (
            include_str!("../scaffold/cases/enricher.json"),
            "adds the configured tags to every event",
            r#"{ tags = { team = "payments" } }"#,
        ),
        Role::Redactor => (
            include_str!("../scaffold/cases/redactor.json"),
            "replaces configured words in the message and exception values",
            r#"{ words = ["hunter2"] }"#,
        ),
        Role::Scorer => (
            include_str!("../scaffold/cases/scorer.json"),
            "scores events by their level",
            r#"{ points = { fatal = 95 } }"#,
        ),
    }
}

/// The files of one language: `(path, template)`, the role's source
/// template, its shared part, and the `allow_imports` its runtime needs.
struct Language {
    files: Vec<(&'static str, &'static str)>,
    source: (&'static str, &'static str),
    common: &'static str,
    allow: &'static str,
    name: &'static str,
}

fn language(lang: &str, role: Role) -> Option<Language> {
    Some(match lang {
        "rust" => Language {
            files: vec![
                ("Cargo.toml", include_str!("../scaffold/rust/Cargo.toml")),
                ("build.sh", include_str!("../scaffold/rust/build.sh")),
            ],
            source: (
                "src/lib.rs",
                match role {
                    Role::Classifier => include_str!("../scaffold/rust/classifier.rs"),
                    Role::Enricher => include_str!("../scaffold/rust/enricher.rs"),
                    Role::Redactor => include_str!("../scaffold/rust/redactor.rs"),
                    Role::Scorer => include_str!("../scaffold/rust/scorer.rs"),
                },
            ),
            common: include_str!("../scaffold/rust/common.rs"),
            allow: "",
            name: "Rust",
        },
        "python" => Language {
            files: vec![("build.sh", include_str!("../scaffold/python/build.sh"))],
            source: (
                "app.py",
                match role {
                    Role::Classifier => include_str!("../scaffold/python/classifier.py"),
                    Role::Enricher => include_str!("../scaffold/python/enricher.py"),
                    Role::Redactor => include_str!("../scaffold/python/redactor.py"),
                    Role::Scorer => include_str!("../scaffold/python/scorer.py"),
                },
            ),
            common: include_str!("../scaffold/python/common.py"),
            allow: "\nallow_imports = [\"wasi:filesystem\", \"wasi:sockets\"]   # linked by the Python runtime; inert",
            name: "Python",
        },
        "js" => Language {
            files: vec![
                ("package.json", include_str!("../scaffold/js/package.json")),
                ("build.sh", include_str!("../scaffold/js/build.sh")),
            ],
            source: (
                "plugin.js",
                match role {
                    Role::Classifier => include_str!("../scaffold/js/classifier.js"),
                    Role::Enricher => include_str!("../scaffold/js/enricher.js"),
                    Role::Redactor => include_str!("../scaffold/js/redactor.js"),
                    Role::Scorer => include_str!("../scaffold/js/scorer.js"),
                },
            ),
            common: include_str!("../scaffold/js/common.js"),
            allow: "\nallow_imports = [\"wasi:filesystem\"]   # linked by the JavaScript runtime; inert",
            name: "JavaScript",
        },
        _ => return None,
    })
}

/// Whether `name` works as a plugin, crate, package and file name.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && name.len() <= 64
}

/// Writes the project `dir` (which must not exist or be empty); returns the files written.
pub fn create(dir: &Path, name: &str, role: Role, lang: &str) -> Result<Vec<PathBuf>, String> {
    if !valid_name(name) {
        return Err(format!(
            "{name:?} is not a plugin name: use lowercase letters, digits and dashes, starting with a letter"
        ));
    }
    let language = language(lang, role).ok_or_else(|| {
        format!(
            "unknown language {lang:?}; choose one of {}",
            LANGUAGES.join(", ")
        )
    })?;
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .next()
            .is_some()
    {
        return Err(format!(
            "{} already exists and is not empty; pick another name or --dir",
            dir.display()
        ));
    }
    let (case, description, config) = role_parts(role);
    let world = format!("{role}-plugin");
    let fill = |text: &str| {
        text.replace("__COMMON__", language.common.trim_end())
            .replace("__NAME__", name)
            .replace("__CRATE__", &name.replace('-', "_"))
            .replace("__WORLD__", &world)
            .replace("__ROLE__", &role.to_string())
            .replace("__LANG__", language.name)
            .replace("__DESCRIPTION__", description)
            .replace("__ALLOW__", language.allow)
            .replace("__CONFIG__", config)
    };
    let mut files: Vec<(String, String)> = language
        .files
        .iter()
        .chain([&language.source])
        .map(|(path, text)| (path.to_string(), fill(text)))
        .collect();
    files.push(("README.md".into(), fill(README)));
    files.push((format!("cases/{role}.json"), case.to_string()));
    files.push(("cases/bad-config.json".into(), BAD_CONFIG_CASE.to_string()));
    files.push((
        ".gitignore".into(),
        "*.wasm\ntarget/\nnode_modules/\n__pycache__/\n".into(),
    ));
    files.extend(WIT.iter().map(|(f, t)| (format!("wit/{f}"), t.to_string())));
    let mut written = Vec::new();
    for (path, text) in files {
        let full = dir.join(&path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&full, text).map_err(|e| format!("{}: {e}", full.display()))?;
        if path.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("{}: {e}", full.display()))?;
        }
        written.push(full);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(valid_name("acme-scorer2"));
        for bad in ["", "Acme", "2x", "a_b", "a-", "a b"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn every_template_is_filled() {
        for lang in LANGUAGES {
            for role in [
                Role::Classifier,
                Role::Enricher,
                Role::Redactor,
                Role::Scorer,
            ] {
                let dir = std::env::temp_dir().join(format!(
                    "faultline-scaffold-{}-{lang}-{role}",
                    std::process::id()
                ));
                let files = create(&dir, "acme-thing", role, lang).unwrap();
                for f in &files {
                    let text = std::fs::read_to_string(f).unwrap();
                    for p in ["__NAME__", "__CRATE__", "__WORLD__", "__ROLE__", "__LANG__"]
                        .iter()
                        .chain(&["__DESCRIPTION__", "__ALLOW__", "__CONFIG__", "__COMMON__"])
                    {
                        assert!(!text.contains(p), "{} still has {p}", f.display());
                    }
                }
                assert!(create(&dir, "acme-thing", role, lang).is_err(), "not twice");
                std::fs::remove_dir_all(&dir).unwrap();
            }
        }
    }
}
