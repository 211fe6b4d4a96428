//! The README's "Layout" section and the tree agree: every path it names exists, and every
//! top-level directory and every crate under `modules/` is named there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The section, from its heading to the next one.
fn layout() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("\n## Layout\n")
        .expect("README.md has no Layout section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_owned()
}

/// Every `code` span of the section that reads as a path of the repository; with
/// `placeholders`, also the patterns such as `modules/<module>`.
fn named_paths(layout: &str, placeholders: bool) -> Vec<String> {
    layout
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.contains('/') && !span.contains(' '))
        .filter(|span| placeholders || !span.contains('<'))
        .map(|span| span.trim_end_matches('/').to_owned())
        .collect()
}

#[test]
fn every_path_the_layout_names_exists() {
    let layout = layout();
    let named = named_paths(&layout, false);
    assert!(named.len() > 10, "{named:?}");
    let missing: Vec<_> = named.iter().filter(|p| !root().join(p).exists()).collect();
    assert!(
        missing.is_empty(),
        "README's layout names missing paths: {missing:?}"
    );
}

#[test]
fn every_directory_and_crate_is_in_the_layout() {
    let layout = layout();
    let named = named_paths(&layout, true);
    let mentioned = |path: &str| {
        named
            .iter()
            .any(|n| n == path || n.starts_with(&format!("{path}/")))
    };
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden directories are tool configuration; `target` and `build` are build output.
        let ignored = name.starts_with('.') || ["target", "build"].contains(&name.as_str());
        if entry.file_type().unwrap().is_dir() && !ignored && !mentioned(&name) {
            missing.push(name);
        }
    }
    for entry in std::fs::read_dir(root().join("modules")).unwrap() {
        let path = entry.unwrap().path();
        let name = format!("modules/{}", path.file_name().unwrap().to_string_lossy());
        // Binary crates are the `modules/<module>` line; every library is named.
        if !path.join("src/main.rs").exists() && !mentioned(&name) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "README's layout does not name {missing:?}"
    );
    assert!(layout.contains("`modules/<module>`"));
}
