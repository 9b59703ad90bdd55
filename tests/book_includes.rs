//! The book pulls its code from `src/` with `{{#include path:anchor}}`; every one of those
//! must name a file that exists and an anchor that file defines, or the page shows nothing.

use std::fs;
use std::path::{Path, PathBuf};

fn pages(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            pages(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// Every include in the book resolves to an existing file and anchor.
#[test]
fn every_include_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut files = Vec::new();
    pages(&root, &mut files);
    assert!(
        !files.is_empty(),
        "no book pages found under {}",
        root.display()
    );
    let mut problems = Vec::new();
    let mut includes = 0;
    for page in &files {
        let text = fs::read_to_string(page).unwrap();
        for spec in text
            .split("{{#include ")
            .skip(1)
            .filter_map(|rest| rest.split("}}").next())
        {
            includes += 1;
            let spec = spec.trim();
            let (path, anchor) = match spec.split_once(':') {
                Some((p, a)) => (p, Some(a)),
                None => (spec, None),
            };
            let target = page.parent().unwrap().join(path);
            let Ok(source) = fs::read_to_string(&target) else {
                problems.push(format!("{}: {path} does not exist", page.display()));
                continue;
            };
            // Line ranges (`file.rs:10:20`) need no anchor.
            let Some(anchor) =
                anchor.filter(|a| !a.chars().all(|c| c.is_ascii_digit() || c == ':'))
            else {
                continue;
            };
            let defined = source.lines().any(|l| {
                l.split_once("ANCHOR:")
                    .is_some_and(|(_, name)| name.trim() == anchor)
            });
            if !defined {
                problems.push(format!(
                    "{}: {path} has no `ANCHOR: {anchor}`",
                    page.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken includes:\n{}",
        problems.join("\n")
    );
    println!("{includes} includes checked in {} pages", files.len());
}
