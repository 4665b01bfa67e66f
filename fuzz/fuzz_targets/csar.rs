//! Fuzzes CSAR reading: the bytes are saved as a `.csar`, `.tar` or `.tar.gz` file (the first
//! byte picks which) and validated as `khutulun tosca validate FILE` would; a broken or hostile
//! archive must get a report, never a panic, a hang or a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;

use khutulun::tosca::{Options, validate};

const EXTENSIONS: [&str; 3] = ["csar", "tar", "tar.gz"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let extension = EXTENSIONS[usize::from(pick) % EXTENSIONS.len()];
    let dir = std::env::temp_dir().join(format!("khutulun-fuzz-csar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let path = dir.join(format!("fuzz.{extension}"));
    std::fs::write(&path, bytes).expect("the scratch file is written");
    let report = validate(&path.to_string_lossy(), &Options::default());
    let _ = report.render_text();
});
