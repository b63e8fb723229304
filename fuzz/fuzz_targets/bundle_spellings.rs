//! One bundle, one meaning: a bundle our reader accepts, with one field given a second time (under
//! its other protobuf spelling, or under the same name) at any depth, must be refused. Seeded from
//! real bundles; the first two input bytes choose the field, where the copy goes and what it holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_signing::bundle;
use serde_json::Value;

/// The other protobuf-JSON spelling of a key (`dsseEnvelope` <-> `dsse_envelope`), or the key
/// itself when it has only one (`sig`, `payload`).
fn other_spelling(k: &str) -> String {
    if k.contains('_') {
        let mut out = String::new();
        let mut up = false;
        for c in k.chars() {
            if c == '_' {
                up = true;
            } else if up {
                out.extend(c.to_uppercase());
                up = false;
            } else {
                out.push(c);
            }
        }
        out
    } else if k.chars().any(|c| c.is_ascii_uppercase()) {
        let mut out = String::new();
        for c in k.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    } else {
        k.to_string()
    }
}

struct Plan {
    target: usize,
    before: bool,
    value: u8,
    seen: usize,
    done: bool,
}

/// Writes `v` as JSON, adding the duplicate entry to the `target`-th key (in document order).
fn write(v: &Value, plan: &mut Plan, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let mut first = true;
            let mut entry = |k: &str, v: &Value, plan: &mut Plan, out: &mut String| {
                if !std::mem::replace(&mut first, false) {
                    out.push(',');
                }
                out.push_str(&Value::String(k.to_string()).to_string());
                out.push(':');
                write(v, plan, out);
            };
            for (k, val) in m {
                let mine = plan.seen == plan.target;
                plan.seen += 1;
                let dup = if mine {
                    plan.done = true;
                    let copy = match plan.value % 3 {
                        0 => val.clone(),
                        1 => Value::Null,
                        _ => Value::Object(Default::default()),
                    };
                    Some((other_spelling(k), copy))
                } else {
                    None
                };
                if let (Some((dk, dv)), true) = (&dup, plan.before) {
                    entry(dk, dv, plan, out);
                }
                entry(k, val, plan, out);
                if let (Some((dk, dv)), false) = (&dup, plan.before) {
                    entry(dk, dv, plan, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(x, plan, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fuzz_target!(|data: &[u8]| {
    let [sel, how, rest @ ..] = data else { return };
    if bundle::parse(rest).is_err() {
        return;
    }
    let Ok(v) = serde_json::from_slice::<Value>(rest) else {
        panic!("our reader accepted a document serde_json rejects");
    };
    let mut plan = Plan {
        target: *sel as usize,
        before: how & 1 == 1,
        value: how >> 1,
        seen: 0,
        done: false,
    };
    // Pick among the keys that exist: wrap the selector around their count.
    let mut probe = Plan {
        target: usize::MAX,
        before: false,
        value: 0,
        seen: 0,
        done: false,
    };
    let mut scratch = String::new();
    write(&v, &mut probe, &mut scratch);
    if probe.seen == 0 {
        return;
    }
    plan.target %= probe.seen;
    let mut out = String::new();
    write(&v, &mut plan, &mut out);
    assert!(plan.done);
    if let Ok(b) = bundle::parse(out.as_bytes()) {
        panic!(
            "a field given twice was accepted: {} ({:?})",
            out, b.media_type
        );
    }
});
