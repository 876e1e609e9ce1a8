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
        println!(
            "    reads: {}",
            faultline::runtime::parts::describe(plugin.metadata.reads)
        );
        match plugin.limits.timeout_ms {
            Some(ms) => println!("    deadline: {ms} ms per call"),
            None => println!(
                "    deadline: off (compiled without interruption checks; a call that never \
                 returns is not stopped)"
            ),
        }
        if let Some(fuel) = plugin.limits.fuel {
            println!("    fuel: {fuel} units per call (its code alone is compiled with metering)");
        }
    }
    for (name, chain) in &pipeline.chains {
        let stages: Vec<String> = chain
            .plugins()
            .map(|(p, on_error)| format!("{} [{}, on_error={}]", p.name, p.role, on_error.name()))
            .collect();
        println!("  chain {name}: {}", stages.join(" -> "));
    }
    match config.default_chain(None) {
        Ok(chain) => println!("  events not routed elsewhere run chain {chain}"),
        Err(e) => println!("  note: {e}"),
    }
    for project in config.projects.values() {
        println!(
            "  project {}{}: chain {}",
            project.id,
            project
                .name
                .as_ref()
                .map_or(String::new(), |n| format!(" ({n})")),
            project.chain.as_deref().unwrap_or("(the server's)")
        );
    }
    for (i, route) in config.routes.iter().enumerate() {
        let fields: Vec<String> = [
            ("project", &route.project),
            ("environment", &route.environment),
            ("platform", &route.platform),
            ("level", &route.level),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
        println!("  route {i}: {} -> chain {}", fields.join(" "), route.chain);
    }
    if !config.keys.is_empty() {
        let names: Vec<&str> = config.keys.iter().map(|k| k.name.as_str()).collect();
        println!("  keys: {}", names.join(", "));
    }
    OK
}
