//! The profiles compiled into the binary: every YAML file under the repository's
//! `profiles/` folder, embedded by `build.rs`.

/// `(path under profiles/ starting with '/', text)` for every embedded file, sorted by path.
static FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/built_in_profiles.rs"));

/// The text of one embedded file.
pub fn get(path: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
}

/// The paths of every embedded file.
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(path, _)| *path)
}
