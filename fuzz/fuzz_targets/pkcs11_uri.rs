//! RFC 7512 `pkcs11:` URIs from `--pkcs11-uri`. Anything that parses must print (Display) to a URI
//! that parses again to the same attributes; `pin-value` is printed redacted, so only its presence
//! is compared.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_signing::pkcs11::Pkcs11Uri;

fn same(a: &Pkcs11Uri, b: &Pkcs11Uri) -> bool {
    a.token == b.token
        && a.manufacturer == b.manufacturer
        && a.serial == b.serial
        && a.model == b.model
        && a.library_manufacturer == b.library_manufacturer
        && a.library_description == b.library_description
        && a.library_version == b.library_version
        && a.slot_manufacturer == b.slot_manufacturer
        && a.slot_description == b.slot_description
        && a.slot_id == b.slot_id
        && a.id == b.id
        && a.object == b.object
        && a.object_type == b.object_type
        && a.module_path == b.module_path
        && a.module_name == b.module_name
        && a.pin_value.is_some() == b.pin_value.is_some()
        && a.pin_source == b.pin_source
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = Pkcs11Uri::parse(text) else {
        return;
    };
    let _ = uri.describe_object();
    let _ = uri.describe_token();
    let printed = uri.to_string();
    match Pkcs11Uri::parse(&printed) {
        Ok(again) => assert!(
            same(&uri, &again),
            "round trip changed the URI: {text:?} -> {printed:?} -> {again}"
        ),
        Err(e) => panic!("Display output does not parse: {text:?} -> {printed:?}: {e}"),
    }
});
