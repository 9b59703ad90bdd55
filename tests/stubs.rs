//! The exercise stubs hold only the student's part: no stub in `chapters/` shares more than
//! a fifth of its body lines with the reference file it replaces. (Signatures, imports,
//! attributes, comments, braces alone and blank lines are shared by design and not counted.)
//!
//! A stub replaces the file of a module declared with
//! `#[cfg_attr(feature = "exNN", path = "../chapters/exNN_….rs")] mod name;`; the reference
//! is that module's own file.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// For each stub named in a `path = "…/chapters/…"` attribute of `src/`, the reference file
/// of the module it replaces.
fn stubs_and_references(root: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut pairs = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(at) = line.find("path = \"") else {
                continue;
            };
            if !line.contains("cfg_attr(feature") || !line.contains("chapters/") {
                continue;
            }
            let quoted = &line[at + 8..];
            let stub_rel = &quoted[..quoted.find('"').unwrap()];
            let stub_name = stub_rel.rsplit('/').next().unwrap();
            let module = lines[i + 1..]
                .iter()
                .find_map(|l| {
                    let l = l.trim();
                    let rest = l
                        .strip_prefix("pub mod ")
                        .or_else(|| l.strip_prefix("pub(crate) mod "))
                        .or_else(|| l.strip_prefix("mod "))?;
                    Some(rest.trim_end_matches(';').to_string())
                })
                .unwrap_or_else(|| panic!("no `mod` after the path attribute in {file:?}"));
            // A module declared in lib.rs (or a mod.rs) lives beside it; one declared in
            // src/x.rs lives in src/x/.
            let dir = match file.file_name().and_then(|n| n.to_str()) {
                Some("lib.rs" | "mod.rs" | "main.rs") => file.parent().unwrap().to_path_buf(),
                _ => file.with_extension(""),
            };
            let mut reference = dir.join(format!("{module}.rs"));
            if !reference.exists() {
                reference = dir.join(&module).join("mod.rs");
            }
            pairs.push((root.join("chapters").join(stub_name), reference));
        }
    }
    pairs
}

/// The lines that carry a body: what is left once comments, blank lines, imports,
/// attributes, lone braces and item signatures are set aside.
fn body_lines(text: &str) -> Vec<String> {
    const SIGNATURES: &[&str] = &[
        "fn ",
        "pub fn ",
        "pub(crate) fn ",
        "pub(super) fn ",
        "impl",
        "pub struct ",
        "struct ",
        "pub(crate) struct ",
        "pub enum ",
        "enum ",
        "pub(crate) enum ",
        "mod ",
        "pub mod ",
        "trait ",
        "pub trait ",
        "pub(crate) trait ",
        "type ",
        "pub type ",
        "use ",
        "pub use ",
        "pub(crate) use ",
    ];
    let mut body = Vec::new();
    // Inside an item's signature that spans several lines (its parameters), until the line
    // that opens its body or ends it.
    let mut in_signature = false;
    for line in text.lines().map(str::trim) {
        let signature_start = SIGNATURES.iter().any(|s| line.starts_with(s));
        if signature_start || in_signature {
            in_signature = !(line.ends_with('{') || line.ends_with(';') || line.ends_with('}'));
            continue;
        }
        let set_aside = line.is_empty()
            || line.starts_with("//")
            || line.starts_with("#[")
            || line.starts_with("#![")
            || line.chars().all(|c| "{}();,".contains(c))
            || line.starts_with("todo!(");
        if !set_aside {
            body.push(line.to_string());
        }
    }
    body
}

/// How many of `stub`'s body lines also appear in `reference` (each reference line matched
/// once).
fn shared(stub: &[String], reference: &[String]) -> usize {
    let mut left: HashMap<&str, usize> = HashMap::new();
    for line in reference {
        *left.entry(line).or_default() += 1;
    }
    stub.iter()
        .filter(|line| match left.get_mut(line.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count()
}

/// No stub shares more than a fifth of its body lines with its reference, and every stub in
/// `chapters/` replaces some module.
#[test]
fn stubs_hold_only_the_students_part() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pairs = stubs_and_references(root);
    let mut report = Vec::new();
    let mut too_much = Vec::new();
    for (stub, reference) in &pairs {
        let stub_body = body_lines(&fs::read_to_string(stub).unwrap());
        let reference_body = body_lines(&fs::read_to_string(reference).unwrap_or_else(|e| {
            panic!("{reference:?}, the reference of {stub:?}, cannot be read: {e}")
        }));
        let common = shared(&stub_body, &reference_body);
        let line = format!(
            "{}: {common} of {} body lines shared with {}",
            stub.strip_prefix(root).unwrap_or(stub).display(),
            stub_body.len(),
            reference.strip_prefix(root).unwrap_or(reference).display()
        );
        if common * 5 > stub_body.len() {
            too_much.push(line.clone());
        }
        report.push(line);
    }
    println!("{}", report.join("\n"));
    let mut named: Vec<PathBuf> = pairs.iter().map(|(s, _)| s.clone()).collect();
    named.sort();
    let mut present = Vec::new();
    for entry in fs::read_dir(root.join("chapters")).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "rs") {
            present.push(entry.path());
        }
    }
    present.sort();
    let orphans: Vec<_> = present.iter().filter(|p| !named.contains(p)).collect();
    assert!(
        orphans.is_empty(),
        "stubs that no `path` attribute in src/ names: {orphans:?}"
    );
    assert!(
        too_much.is_empty(),
        "stubs sharing more than a fifth of their body lines with the reference (the rest of the module belongs in the reference, not the stub):\n{}",
        too_much.join("\n")
    );
}
