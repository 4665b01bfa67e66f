//! Embeds every YAML file under `profiles/` into the binary, so the built-in TOSCA profiles
//! travel with it and a new profile file needs no code change.
//!
//! A build script (rather than a directory-embedding macro) is used because Cargo re-runs it
//! when anything under `profiles/` changes, including added files; macros only notice edits
//! to files they already saw. The output is a table of `(path under profiles/, text)` read by
//! `src/tosca/loader/built_in.rs`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    embed_commit();
    // Read when the script runs, not when it was compiled: a target directory shared by two
    // checkouts keeps one compiled script, and each build must look at its own checkout.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("profiles");
    println!("cargo:rerun-if-changed=profiles");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    for file in &files {
        let relative = file.strip_prefix(&root).expect("under profiles/");
        let relative = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        // Named from the crate's directory at compile time, not by this checkout's absolute
        // path: a target directory shared by two checkouts (worktrees) may skip re-running
        // this script, and must still read the profiles of the checkout being built.
        let _ = writeln!(
            table,
            "    ({:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {:?}))),",
            format!("/{relative}"),
            format!("/profiles/{relative}")
        );
    }
    table.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("built_in_profiles.rs"), table).expect("write the profile table");
}

fn collect(directory: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
        {
            files.push(path);
        }
    }
}

/// Sets `KHUTULUN_COMMIT` to the checkout's commit (`unknown` outside git), for `--version`,
/// and re-runs when HEAD or the branch it names moves.
fn embed_commit() {
    let git = |args: &[&str]| -> Option<String> {
        let output = std::process::Command::new("git").args(args).output().ok()?;
        let text = String::from_utf8(output.stdout).ok()?;
        (output.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=KHUTULUN_COMMIT={commit}");
    for reference in ["HEAD", "refs/heads"] {
        if let Some(path) = git(&["rev-parse", "--git-path", reference]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
