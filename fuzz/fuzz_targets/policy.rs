//! Trust policy files (`verify --policy`): our `Policy` and the operator's `ModelValidation`,
//! both YAML. Any input must parse or fail with an error, in bounded time and memory. Key and
//! certificate paths resolve under a directory that does not exist, so no file is read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = model_signing::policy::file::parse(
            text,
            Path::new("fuzz.yaml"),
            Path::new("/nonexistent-fuzz-dir"),
        );
    }
});
