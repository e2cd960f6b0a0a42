//! native-train reads in the direction the data flows (ARCHITECTURE.md): each module imports
//! only modules before it in `ORDER`, so no two import each other, directly or round a circle.

use std::path::{Path, PathBuf};

/// Lowest layer first.
const ORDER: &[&str] = &[
    "error",
    "paths",
    "rng",
    "poly_lr",
    "backend",
    "data",
    "augment",
    "recipe",
    "logs",
    "checkpoint",
    "parallel",
    "experiments",
    "train",
    "inputs",
    "commands",
    "scans",
    "parity",
    "bench",
    "main",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules `crate::NAME` names in `text`, comments left out.
fn imports(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap();
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

#[test]
fn modules_import_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let rank = |name: &str| ORDER.iter().position(|m| *m == name);
    let mut checked = 0;
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        let module = first.trim_end_matches(".rs");
        let own = rank(module).unwrap_or_else(|| {
            panic!(
                "src/{} is in no layer: add `{module}` to ORDER",
                rel.display()
            )
        });
        let text = std::fs::read_to_string(file).unwrap();
        for name in imports(&text) {
            let theirs = rank(&name)
                .unwrap_or_else(|| panic!("src/{}: crate::{name} is in no layer", rel.display()));
            assert!(
                theirs <= own,
                "src/{} ({module}) imports crate::{name}, a layer above it",
                rel.display()
            );
            checked += 1;
        }
    }
    // The modules do import each other: the check above had something to check.
    assert!(checked > 50, "{checked} imports");
}
