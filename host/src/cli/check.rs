//! `faultline check`: loads everything a config names, exactly as `process`
//! and `serve` would, and reports the first problem with its location.

use std::path::Path;

use faultline::Pipeline;
use faultline::config::Config;

use super::{BAD_CONFIG, OK};

pub fn run(path: &Path) -> i32 {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return BAD_CONFIG;
        }
    };
    let pipeline = match Pipeline::build(&config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return BAD_CONFIG;
        }
    };
    println!("{}: ok", path.display());
    for (name, plugin) in &pipeline.plugins {
        println!(
            "  plugin {name}: {} {} {} ({}, {}{})",
            plugin.role,
            plugin.metadata.name,
            plugin.metadata.version,
            plugin.digest,
            if plugin.trusted {
                "trusted"
            } else {
                "untrusted"
            },
            if plugin.cached { ", cached" } else { "" }
        );
    }
    for (name, chain) in &pipeline.chains {
        let stages: Vec<String> = chain
            .plugins()
            .map(|(p, on_error)| format!("{} [{}, on_error={}]", p.name, p.role, on_error.name()))
            .collect();
        println!("  chain {name}: {}", stages.join(" -> "));
    }
    OK
}
