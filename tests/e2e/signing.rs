//! Signed vendor plugins: keygen, sign, verify, and `signed_by` in the
//! config refusing anything unsigned, altered or signed by another key.

use crate::support::{faultline, temp_dir, test_plugin, write};

fn keygen(dir: &std::path::Path, name: &str) -> String {
    let run = faultline(
        &["keygen", "--name", name, "--dir", dir.to_str().unwrap()],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap()
        .trim_matches('"')
        .to_string()
}

fn config(dir: &std::path::Path, public: &str, extra: &str) -> String {
    write(
        dir,
        "faultline.toml",
        &format!(
            "[trusted_keys]\nacme = \"{public}\"\n\n\
             [plugins.pii]\nbuiltin = \"redactor-pii\"\n\n\
             [plugins.vendor]\npath = \"vendor.wasm\"\nsigned_by = \"acme\"\ntrust = \"untrusted\"\n{extra}\n\
             [[chains.default.stages]]\nplugin = \"pii\"\n\n\
             [[chains.default.stages]]\nplugin = \"vendor\"\n"
        ),
    )
}

#[test]
fn signed_plugins_load_and_anything_else_is_refused() {
    let dir = temp_dir("signing");
    let public = keygen(&dir, "acme");
    let vendor = dir.join("vendor.wasm");
    std::fs::copy(test_plugin("noop"), &vendor).unwrap();
    let file = vendor.to_str().unwrap();
    let key = dir.join("acme.key");
    let run = faultline(
        &["plugin", "sign", "--key", key.to_str().unwrap(), file],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let pubkey = dir.join("acme.pub");
    let verify = |file: &str| {
        faultline(
            &["plugin", "verify", "--key", pubkey.to_str().unwrap(), file],
            "",
        )
    };
    let run = verify(file);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("is signed by \"acme\""),
        "{}",
        run.stdout
    );

    // Signed and pinned: it loads and runs.
    let cfg = config(&dir, &public, "");
    let run = faultline(&["check", "--config", &cfg], "");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = faultline(&["process", "--config", &cfg], "{\"message\": \"hello\"}\n");
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Altered after signing: refused before it is compiled.
    let original = std::fs::read(&vendor).unwrap();
    let mut altered = original.clone();
    altered.extend_from_slice(b"\0\0\0\0");
    std::fs::write(&vendor, &altered).unwrap();
    let run = faultline(&["check", "--config", &cfg], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("plugin \"vendor\" must be signed by \"acme\" and is refused: the component changed since it was signed"),
        "{}",
        run.stderr
    );
    assert_eq!(verify(file).code, 1);
    std::fs::write(&vendor, &original).unwrap();

    // Signed by someone else.
    keygen(&dir, "mallory");
    let mallory = dir.join("mallory.key");
    let run = faultline(
        &["plugin", "sign", "--key", mallory.to_str().unwrap(), file],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = faultline(&["check", "--config", &cfg], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("it is signed by \"mallory\", not by the trusted key \"acme\""),
        "{}",
        run.stderr
    );

    // A forged signature: mallory's signature relabelled as acme's.
    let sig_path = dir.join("vendor.wasm.sig");
    let forged = std::fs::read_to_string(&sig_path)
        .unwrap()
        .replace("\"mallory\"", "\"acme\"");
    std::fs::write(&sig_path, forged).unwrap();
    let run = faultline(&["check", "--config", &cfg], "");
    assert!(
        run.stderr.contains("does not verify with \"acme\"'s key"),
        "{}",
        run.stderr
    );

    // No signature at all.
    std::fs::remove_file(&sig_path).unwrap();
    let run = faultline(&["check", "--config", &cfg], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("vendor.wasm.sig") && run.stderr.contains("faultline plugin sign"),
        "{}",
        run.stderr
    );

    // A signature kept elsewhere, named in the config.
    let elsewhere = dir.join("signatures");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = elsewhere.join("vendor.sig");
    let run = faultline(
        &[
            "plugin",
            "sign",
            "--key",
            key.to_str().unwrap(),
            file,
            "--out",
            out.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cfg = config(&dir, &public, "signature = \"signatures/vendor.sig\"\n");
    let run = faultline(&["check", "--config", &cfg], "");
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Keys are never overwritten.
    let run = faultline(
        &["keygen", "--name", "acme", "--dir", dir.to_str().unwrap()],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("acme.key"), "{}", run.stderr);
}
