//! Model mutations: a signed model changed in one way at a time.

use super::*;

// ------------------------------------------------------------------------------------------------
// 1. Model mutations.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    ByteFlip,
    Truncate,
    TruncateToZero,
    Append,
    AppendToEmpty,
    RenameSameDir,
    RenameOtherDir,
    SwapNames,
    SwapContents,
    Delete,
    DeleteEmpty,
    AddFile,
    AddDotfile,
    AddUnicodeName,
    AddCaseVariant,
    AddNfdVariant,
    AddEmptyFile,
    AddInNewDir,
    FileToDir,
    FileToFifo,
    BackslashName,
    SymlinkToSelfCopy,
    SymlinkToOtherFile,
    SymlinkSwapVerifierAllows,
    DirToSymlinkedCopy,
}

pub(crate) const KINDS: [Kind; 25] = [
    Kind::ByteFlip,
    Kind::Truncate,
    Kind::TruncateToZero,
    Kind::Append,
    Kind::AppendToEmpty,
    Kind::RenameSameDir,
    Kind::RenameOtherDir,
    Kind::SwapNames,
    Kind::SwapContents,
    Kind::Delete,
    Kind::DeleteEmpty,
    Kind::AddFile,
    Kind::AddDotfile,
    Kind::AddUnicodeName,
    Kind::AddCaseVariant,
    Kind::AddNfdVariant,
    Kind::AddEmptyFile,
    Kind::AddInNewDir,
    Kind::FileToDir,
    Kind::FileToFifo,
    Kind::BackslashName,
    Kind::SymlinkToSelfCopy,
    Kind::SymlinkToOtherFile,
    Kind::SymlinkSwapVerifierAllows,
    Kind::DirToSymlinkedCopy,
];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::ByteFlip => "byte flip",
            Kind::Truncate => "truncate (random length)",
            Kind::TruncateToZero => "truncate to 0",
            Kind::Append => "append random bytes",
            Kind::AppendToEmpty => "append to the empty file",
            Kind::RenameSameDir => "rename (same dir)",
            Kind::RenameOtherDir => "rename (other dir)",
            Kind::SwapNames => "swap two file names",
            Kind::SwapContents => "swap two files' contents",
            Kind::Delete => "delete a file",
            Kind::DeleteEmpty => "delete the empty file",
            Kind::AddFile => "add a file",
            Kind::AddDotfile => "add a dotfile",
            Kind::AddUnicodeName => "add a unicode-named file",
            Kind::AddCaseVariant => "add a case-variant name",
            Kind::AddNfdVariant => "add an NFD twin name",
            Kind::AddEmptyFile => "add an empty file",
            Kind::AddInNewDir => "add a file in new dirs",
            Kind::FileToDir => "file -> directory",
            Kind::FileToFifo => "file -> FIFO",
            Kind::BackslashName => "name with a backslash",
            Kind::SymlinkToSelfCopy => "file -> symlink to own copy",
            Kind::SymlinkToOtherFile => "file -> symlink to other file",
            Kind::SymlinkSwapVerifierAllows => "symlink swap, verifier allows",
            Kind::DirToSymlinkedCopy => "dir -> symlink to own copy",
        }
    }
}

pub(crate) enum Expect {
    /// `Error::Mismatch` with a non-empty report.
    Mismatch,
    /// `Error::Model` whose message contains this text.
    Model(&'static str),
    /// Verification passes, by design of the format (counted, not a failure).
    ByDesign,
}

pub(crate) enum Undo {
    /// Put this content back at this path (whatever is there now is removed first).
    Restore(PathBuf, Vec<u8>),
    /// Remove this path (file, link, FIFO or tree).
    Remove(PathBuf),
    Rename(PathBuf, PathBuf),
}

pub(crate) fn run_undo(undo: Vec<Undo>) {
    for u in undo {
        match u {
            Undo::Restore(p, d) => {
                clear(&p);
                write_file(&p, &d);
            }
            Undo::Remove(p) => clear(&p),
            Undo::Rename(a, b) => fs::rename(&a, &b)
                .unwrap_or_else(|e| panic!("undo rename {} -> {}: {e}", a.display(), b.display())),
        }
    }
}

pub(crate) struct Applied {
    desc: String,
    expect: Expect,
    undo: Vec<Undo>,
    verifier_allows_symlinks: bool,
}

impl Applied {
    fn new(desc: String, expect: Expect, undo: Vec<Undo>) -> Applied {
        Applied {
            desc,
            expect,
            undo,
            verifier_allows_symlinks: false,
        }
    }
}

/// Whether adding, deleting or renaming a file of `len` bytes is visible: the shards serialization
/// records no resource at all for an empty file (as in the Python reference), so it cannot be.
pub(crate) fn presence(shards: bool, len: usize) -> Expect {
    if shards && len == 0 {
        Expect::ByDesign
    } else {
        Expect::Mismatch
    }
}

/// [`presence`] for a file that now exists under `name`: a name no signature may hold (a control
/// character) makes the walk itself refuse the tree, for signer and verifier alike.
pub(crate) fn arrival(shards: bool, len: usize, name: &str) -> Expect {
    if model_signing::manifest::validate_path(name).is_err() {
        Expect::Model("a signature cannot list it")
    } else {
        presence(shards, len)
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Style {
    Plain,
    Dot,
    Unicode,
    Odd,
}

pub(crate) fn random_base(rng: &mut Rng, style: Style) -> String {
    const PLAIN: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
    let plain = |rng: &mut Rng| -> String {
        let n = rng.between(1, 16);
        (0..n)
            .map(|_| PLAIN[rng.below(PLAIN.len())] as char)
            .collect()
    };
    match style {
        Style::Plain => plain(rng),
        Style::Dot => format!(".{}", plain(rng)),
        Style::Unicode => {
            const U: [&str; 14] = [
                "é", "ß", "中", "文", "😀", "Ω", "ñ", "Я", "e\u{301}", "\u{200b}", "ﬁ", "İ", "a",
                "\u{202e}",
            ];
            let n = rng.between(1, 6);
            (0..n).map(|_| *rng.pick(&U)).collect()
        }
        Style::Odd => {
            if rng.chance(10) {
                return "L".repeat(rng.between(100, 250));
            }
            const O: [&str; 20] = [
                "a", " ", "  ", ":", "\n", "\t", "#", "%", "~", "'", "\"", "*", "?", "[", "]", "{",
                "}", "=", "-", ".",
            ];
            let n = rng.between(1, 10);
            (0..n).map(|_| *rng.pick(&O)).collect()
        }
    }
}

/// A plain name that is not `.` or `..`.
pub(crate) fn plain_base(rng: &mut Rng) -> String {
    loop {
        let b = random_base(rng, Style::Plain);
        if b != "." && b != ".." {
            return b;
        }
    }
}

pub(crate) fn random_style(rng: &mut Rng) -> Style {
    *rng.pick(&[Style::Plain, Style::Dot, Style::Unicode, Style::Odd])
}

/// A model-relative name in `dir` that does not exist and is not ignored by default.
pub(crate) fn fresh_name(rng: &mut Rng, fx: &Fixture, dir: &str, style: Style) -> String {
    loop {
        let base = random_base(rng, style);
        if base.is_empty() || base == "." || base == ".." || base.contains('/') || base.len() > 250
        {
            continue;
        }
        if dir.is_empty() && GIT_PATHS.contains(&base.as_str()) {
            continue; // ignored by default (recorded ignore_paths): adding it is allowed
        }
        let name = join(dir, &base);
        if fs::symlink_metadata(fx.path(&name)).is_err() {
            return name;
        }
    }
}

pub(crate) fn case_variants(base: &str) -> Vec<String> {
    let swap: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let mut cap = String::new();
    let mut done = false;
    for c in base.chars() {
        if !done && c.is_ascii_alphabetic() {
            cap.push(if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            });
            done = true;
        } else {
            cap.push(c);
        }
    }
    let mut v = vec![base.to_uppercase(), base.to_lowercase(), swap, cap];
    v.retain(|s| s != base);
    v.sort();
    v.dedup();
    v
}

pub(crate) fn pick_file(rng: &mut Rng, fx: &Fixture, nonempty: bool) -> (String, Vec<u8>) {
    let names: Vec<String> = fx
        .files
        .iter()
        .filter(|(_, d)| !nonempty || !d.is_empty())
        .map(|(n, _)| n.clone())
        .collect();
    let n = rng.pick(&names).clone();
    let d = fx.content(&n);
    (n, d)
}

/// Two distinct files with different contents.
pub(crate) fn pick_two(rng: &mut Rng, fx: &Fixture) -> (String, String) {
    let names = fx.names();
    loop {
        let a = rng.pick(&names).clone();
        let b = rng.pick(&names).clone();
        if a != b && fx.files[&a] != fx.files[&b] {
            return (a, b);
        }
    }
}

pub(crate) fn random_content(rng: &mut Rng, fx: &Fixture) -> Vec<u8> {
    if rng.chance(25) {
        pick_file(rng, fx, false).1 // an identical copy of a signed file
    } else if rng.chance(10) {
        Vec::new()
    } else {
        let n = rng.between(1, 3000);
        rng.bytes(n)
    }
}

pub(crate) fn apply(kind: Kind, fx: &Fixture, rng: &mut Rng, shards: bool, n: usize) -> Applied {
    match kind {
        Kind::ByteFlip => {
            let (name, data) = pick_file(rng, fx, true);
            let off = rng.below(data.len());
            let mask = rng.nonzero_byte();
            let mut d = data.clone();
            d[off] ^= mask;
            fs::write(fx.path(&name), &d).unwrap();
            Applied::new(
                format!(
                    "flip byte {off}/{} of {name:?} (xor {mask:#04x})",
                    data.len()
                ),
                Expect::Mismatch,
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::Truncate | Kind::TruncateToZero => {
            let (name, data) = pick_file(rng, fx, true);
            let len = if kind == Kind::TruncateToZero {
                0
            } else {
                rng.below(data.len())
            };
            fs::OpenOptions::new()
                .write(true)
                .open(fx.path(&name))
                .unwrap()
                .set_len(len as u64)
                .unwrap();
            Applied::new(
                format!("truncate {name:?} from {} to {len} bytes", data.len()),
                Expect::Mismatch,
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::Append | Kind::AppendToEmpty => {
            let (name, data) = if kind == Kind::AppendToEmpty {
                ("empty.bin".to_string(), Vec::new())
            } else {
                pick_file(rng, fx, false)
            };
            let k = if rng.chance(20) {
                rng.between(1000, 5000)
            } else {
                rng.between(1, 64)
            };
            let mut d = data.clone();
            d.extend(rng.bytes(k));
            fs::write(fx.path(&name), &d).unwrap();
            Applied::new(
                format!("append {k} bytes to {name:?} ({} bytes)", data.len()),
                Expect::Mismatch,
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::RenameSameDir | Kind::RenameOtherDir => {
            let (name, data) = pick_file(rng, fx, false);
            let dir = parent_of(&name).to_string();
            let new = if kind == Kind::RenameSameDir {
                let variants: Vec<String> = case_variants(base_of(&name))
                    .into_iter()
                    .map(|b| join(&dir, &b))
                    .filter(|c| fs::symlink_metadata(fx.path(c)).is_err())
                    .filter(|c| !GIT_PATHS.contains(&c.as_str()))
                    .collect();
                if !variants.is_empty() && rng.chance(30) {
                    rng.pick(&variants).clone()
                } else {
                    let st = random_style(rng);
                    fresh_name(rng, fx, &dir, st)
                }
            } else {
                let others: Vec<&String> = fx.dirs.iter().filter(|d| **d != dir).collect();
                let target = rng.pick(&others).to_string();
                let same = join(&target, base_of(&name));
                if fs::symlink_metadata(fx.path(&same)).is_err()
                    && !GIT_PATHS.contains(&same.as_str())
                {
                    same
                } else {
                    let st = random_style(rng);
                    fresh_name(rng, fx, &target, st)
                }
            };
            fs::rename(fx.path(&name), fx.path(&new)).unwrap();
            Applied::new(
                format!("rename {name:?} ({} bytes) -> {new:?}", data.len()),
                arrival(shards, data.len(), &new),
                vec![Undo::Rename(fx.path(&new), fx.path(&name))],
            )
        }
        Kind::SwapNames => {
            let (a, b) = pick_two(rng, fx);
            let tmp = fx.outside.join(format!("swap-{n}"));
            let ops = || {
                vec![
                    Undo::Rename(fx.path(&a), tmp.clone()),
                    Undo::Rename(fx.path(&b), fx.path(&a)),
                    Undo::Rename(tmp.clone(), fx.path(&b)),
                ]
            };
            run_undo(ops()); // a swap is its own inverse
            Applied::new(
                format!("swap names {a:?} <-> {b:?}"),
                Expect::Mismatch,
                ops(),
            )
        }
        Kind::SwapContents => {
            let (a, b) = if rng.chance(50) {
                (
                    "weights/bias.bin".to_string(),
                    "tokenizer/merges.txt".to_string(),
                )
            } else {
                pick_two(rng, fx)
            };
            let (da, db) = (fx.content(&a), fx.content(&b));
            fs::write(fx.path(&a), &db).unwrap();
            fs::write(fx.path(&b), &da).unwrap();
            Applied::new(
                format!(
                    "swap contents of {a:?} ({}) and {b:?} ({})",
                    da.len(),
                    db.len()
                ),
                Expect::Mismatch,
                vec![
                    Undo::Restore(fx.path(&a), da),
                    Undo::Restore(fx.path(&b), db),
                ],
            )
        }
        Kind::Delete | Kind::DeleteEmpty => {
            let (name, data) = if kind == Kind::DeleteEmpty {
                ("empty.bin".to_string(), Vec::new())
            } else {
                pick_file(rng, fx, false)
            };
            fs::remove_file(fx.path(&name)).unwrap();
            Applied::new(
                format!("delete {name:?} ({} bytes)", data.len()),
                presence(shards, data.len()),
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::AddFile
        | Kind::AddDotfile
        | Kind::AddUnicodeName
        | Kind::AddEmptyFile
        | Kind::BackslashName => {
            let dir = rng.pick(&fx.dirs).clone();
            let style = match kind {
                Kind::AddDotfile => Style::Dot,
                Kind::AddUnicodeName => Style::Unicode,
                _ => {
                    if rng.chance(50) {
                        Style::Plain
                    } else {
                        Style::Odd
                    }
                }
            };
            let mut name = fresh_name(rng, fx, &dir, style);
            if kind == Kind::BackslashName {
                let b = base_of(&name).to_string();
                let at = rng.below(b.len() + 1);
                let at = (0..=at).rev().find(|i| b.is_char_boundary(*i)).unwrap_or(0);
                name = join(&dir, &format!("{}\\{}", &b[..at], &b[at..]));
                if fs::symlink_metadata(fx.path(&name)).is_ok() {
                    name = join(&dir, &format!("bs\\{n}"));
                }
            }
            let data = if kind == Kind::AddEmptyFile {
                Vec::new()
            } else {
                random_content(rng, fx)
            };
            write_file(&fx.path(&name), &data);
            let expect = if kind == Kind::BackslashName {
                Expect::Model("backslash")
            } else {
                arrival(shards, data.len(), &name)
            };
            Applied::new(
                format!("add {name:?} ({} bytes)", data.len()),
                expect,
                vec![Undo::Remove(fx.path(&name))],
            )
        }
        Kind::AddCaseVariant => {
            let candidates: Vec<(String, String)> = fx
                .names()
                .into_iter()
                .flat_map(|n| {
                    let dir = parent_of(&n).to_string();
                    case_variants(base_of(&n))
                        .into_iter()
                        .map(move |v| (n.clone(), join(&dir, &v)))
                        .collect::<Vec<_>>()
                })
                .filter(|(_, v)| fs::symlink_metadata(fx.path(v)).is_err())
                .filter(|(_, v)| !GIT_PATHS.contains(&v.as_str()))
                .collect();
            let (orig, name) = rng.pick(&candidates).clone();
            let data = if rng.chance(50) {
                fx.content(&orig)
            } else {
                let k = rng.between(1, 500);
                rng.bytes(k)
            };
            write_file(&fx.path(&name), &data);
            Applied::new(
                format!("add {name:?} next to {orig:?} ({} bytes)", data.len()),
                arrival(shards, data.len(), &name),
                vec![Undo::Remove(fx.path(&name))],
            )
        }
        Kind::AddNfdVariant => {
            // "modèle.txt" is stored NFC; its NFD spelling is another file on Linux.
            let name = "tokenizer/mode\u{300}le.txt".to_string();
            let data = fx.content("tokenizer/modèle.txt");
            write_file(&fx.path(&name), &data);
            Applied::new(
                format!("add NFD twin {name:?} of \"tokenizer/modèle.txt\" (same content)"),
                Expect::Mismatch,
                vec![Undo::Remove(fx.path(&name))],
            )
        }
        Kind::AddInNewDir => {
            let dir = rng.pick(&fx.dirs).clone();
            let st = random_style(rng);
            let top = fresh_name(rng, fx, &dir, st);
            let mut name = top.clone();
            for _ in 0..=rng.below(3) {
                name = join(&name, &plain_base(rng));
            }
            let data = random_content(rng, fx);
            write_file(&fx.path(&name), &data);
            Applied::new(
                format!("add {name:?} ({} bytes) in new dirs", data.len()),
                arrival(shards, data.len(), &name),
                vec![Undo::Remove(fx.path(&top))],
            )
        }
        Kind::FileToDir => {
            let (name, data) = pick_file(rng, fx, true);
            let inner = format!("{name}/{}", base_of(&name));
            fs::remove_file(fx.path(&name)).unwrap();
            write_file(&fx.path(&inner), &data);
            Applied::new(
                format!("replace {name:?} by directory holding {inner:?} (same content)"),
                Expect::Mismatch,
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::FileToFifo => {
            let (name, data) = pick_file(rng, fx, false);
            fs::remove_file(fx.path(&name)).unwrap();
            mkfifo(&fx.path(&name));
            Applied::new(
                format!("replace {name:?} by a FIFO"),
                Expect::Model("FIFO"),
                vec![Undo::Restore(fx.path(&name), data)],
            )
        }
        Kind::SymlinkToSelfCopy => {
            let (name, data) = pick_file(rng, fx, false);
            let mut undo = vec![Undo::Restore(fx.path(&name), data.clone())];
            let (copy, target, where_) = match rng.below(3) {
                0 => {
                    let c = fx.outside.join(format!("copy-{n}"));
                    (c.clone(), c, "absolute, outside the model")
                }
                1 => {
                    let c = fx.outside.join(format!("copy-{n}"));
                    let rel = PathBuf::from(format!("{}outside/copy-{n}", up_to_tmp(&name)));
                    (c, rel, "relative, outside the model")
                }
                _ => {
                    let c = fx.root.join(format!(".git/objects/copy-{n}"));
                    let rel = PathBuf::from(format!(
                        "{}.git/objects/copy-{n}",
                        "../".repeat(name.matches('/').count())
                    ));
                    undo.push(Undo::Remove(fx.root.join(".git")));
                    (c, rel, "relative, inside the ignored .git")
                }
            };
            write_file(&copy, &data);
            undo.push(Undo::Remove(copy));
            fs::remove_file(fx.path(&name)).unwrap();
            symlink(&target, fx.path(&name)).unwrap();
            Applied::new(
                format!(
                    "replace {name:?} by a symlink to an identical copy ({where_}: {})",
                    target.display()
                ),
                Expect::Model("symlink"),
                undo,
            )
        }
        Kind::SymlinkToOtherFile | Kind::SymlinkSwapVerifierAllows => {
            let (a, b) = pick_two(rng, fx);
            let target = if rng.chance(50) {
                fx.path(&b)
            } else {
                PathBuf::from(format!("{}{b}", "../".repeat(a.matches('/').count())))
            };
            fs::remove_file(fx.path(&a)).unwrap();
            symlink(&target, fx.path(&a)).unwrap();
            let mut ap = Applied::new(
                format!("replace {a:?} by a symlink to {b:?} ({})", target.display()),
                if kind == Kind::SymlinkToOtherFile {
                    Expect::Model("symlink")
                } else {
                    Expect::Mismatch
                },
                vec![Undo::Restore(fx.path(&a), fx.content(&a))],
            );
            ap.verifier_allows_symlinks = kind == Kind::SymlinkSwapVerifierAllows;
            ap
        }
        Kind::DirToSymlinkedCopy => {
            let dirs: Vec<&String> = fx.dirs.iter().filter(|d| !d.is_empty()).collect();
            let d = rng.pick(&dirs).to_string();
            let moved = fx.outside.join(format!("dir-{n}"));
            fs::rename(fx.path(&d), &moved).unwrap();
            symlink(&moved, fx.path(&d)).unwrap();
            Applied::new(
                format!("replace directory {d:?} by a symlink to itself moved outside"),
                Expect::Model("symlink"),
                vec![Undo::Remove(fx.path(&d)), Undo::Rename(moved, fx.path(&d))],
            )
        }
    }
}

/// Checks that the tree on disk is exactly the fixture: the same regular files with the same
/// contents, only directories otherwise, nothing else (no link, FIFO or leftover file).
pub(crate) fn snapshot_matches(fx: &Fixture) -> Result<(), String> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) -> Result<(), String> {
        for e in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let e = e.map_err(|e| e.to_string())?;
            let name = join(prefix, &e.file_name().to_string_lossy());
            let ft = e.file_type().map_err(|e| e.to_string())?;
            if ft.is_dir() {
                walk(&e.path(), &name, out)?;
            } else if ft.is_file() {
                out.insert(name, fs::read(e.path()).map_err(|e| e.to_string())?);
            } else {
                return Err(format!("{name:?} is neither a file nor a directory"));
            }
        }
        Ok(())
    }
    let mut now = BTreeMap::new();
    walk(&fx.root, "", &mut now)?;
    if now == fx.files {
        Ok(())
    } else {
        let extra: Vec<_> = now.keys().filter(|k| !fx.files.contains_key(*k)).collect();
        let missing: Vec<_> = fx.files.keys().filter(|k| !now.contains_key(*k)).collect();
        Err(format!(
            "extra {extra:?}, missing {missing:?}, or contents differ"
        ))
    }
}

#[derive(Default)]
pub(crate) struct Tally {
    tried: usize,
    rejected: usize,
    mismatch: usize,
    model: usize,
    by_design_tried: usize,
    by_design_accepted: usize,
    wrong_class: usize,
}

pub(crate) fn print_tally(title: &str, tally: &BTreeMap<Kind, Tally>, elapsed: Duration) {
    let mut s = format!(
        "\n== {title}: {:.1} s ==\n{:<32} {:>6} {:>8} {:>8} {:>6} {:>10} {:>11}\n",
        elapsed.as_secs_f64(),
        "mutation",
        "tried",
        "rejected",
        "mismatch",
        "model",
        "wrong-err",
        "by-design*"
    );
    let mut tot = Tally::default();
    for (k, t) in tally {
        s += &format!(
            "{:<32} {:>6} {:>8} {:>8} {:>6} {:>10} {:>11}\n",
            k.label(),
            t.tried,
            t.rejected,
            t.mismatch,
            t.model,
            t.wrong_class,
            if t.by_design_tried > 0 {
                format!("{}/{}", t.by_design_accepted, t.by_design_tried)
            } else {
                "-".into()
            }
        );
        tot.tried += t.tried;
        tot.rejected += t.rejected;
        tot.mismatch += t.mismatch;
        tot.model += t.model;
        tot.wrong_class += t.wrong_class;
        tot.by_design_tried += t.by_design_tried;
        tot.by_design_accepted += t.by_design_accepted;
    }
    s += &format!(
        "{:<32} {:>6} {:>8} {:>8} {:>6} {:>10} {:>11}\n",
        "TOTAL",
        tot.tried,
        tot.rejected,
        tot.mismatch,
        tot.model,
        tot.wrong_class,
        format!("{}/{}", tot.by_design_accepted, tot.by_design_tried)
    );
    s += "(*) accepted/tried of mutations invisible by design (empty files under shards); \
          `tried` counts only the mutations that must be rejected\n";
    eprintln!("{s}");
}

pub(crate) fn model_campaign(
    test: &str,
    alg: HashAlgorithm,
    ser: Serialization,
    iterations: usize,
) {
    let mut rng = Rng::for_test(test);
    let fx = build_model(&mut rng, true);
    let signed = sign(&fx.root, &hashing(alg, ser));
    let st = signed.statement();
    let recorded = &st["predicate"]["serialization"];
    let shards = recorded["method"] == "shards";
    let resources = st["predicate"]["resources"].as_array().unwrap().len();
    let verifier = signed.verifier();
    let strict = VerifyOptions::default();
    let lenient = VerifyOptions {
        allow_symlinks: true,
        ..VerifyOptions::default()
    };
    if let o @ (Outcome::Fail(_) | Outcome::Panic(_)) =
        verify_outcome(&fx.root, &signed.bundle, &verifier, &strict)
    {
        panic!("the freshly signed model does not verify: {}", o.describe());
    }
    eprintln!(
        "[{test}] signed {} files as {recorded} ({resources} resources); {iterations} mutations",
        fx.files.len()
    );
    let start = Instant::now();
    let mut tally: BTreeMap<Kind, Tally> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    for i in 0..iterations {
        // Round-robin over the kinds (each is tried equally often), random parameters.
        let kind = KINDS[i % KINDS.len()];
        let applied = apply(kind, &fx, &mut rng, shards, i);
        let opts = if applied.verifier_allows_symlinks {
            &lenient
        } else {
            &strict
        };
        let out = verify_outcome(&fx.root, &signed.bundle, &verifier, opts);
        let t = tally.entry(kind).or_default();
        match (&applied.expect, &out) {
            (_, Outcome::Panic(p)) => {
                t.tried += 1;
                failures.push(format!("PANIC on [{}]: {p}", applied.desc));
            }
            (Expect::ByDesign, Outcome::Pass(_)) => {
                t.by_design_tried += 1;
                t.by_design_accepted += 1;
            }
            (Expect::ByDesign, Outcome::Fail(_)) => t.by_design_tried += 1,
            (_, Outcome::Pass(_)) => {
                t.tried += 1;
                failures.push(format!("ACCEPTED [{}]", applied.desc));
            }
            (Expect::Mismatch, Outcome::Fail(Error::Mismatch(r))) if !r.is_empty() => {
                t.tried += 1;
                t.rejected += 1;
                t.mismatch += 1;
            }
            (Expect::Model(want), Outcome::Fail(e))
                if model_message(e).is_some_and(|m| m.contains(want)) =>
            {
                t.tried += 1;
                t.rejected += 1;
                t.model += 1;
            }
            (_, Outcome::Fail(_)) => {
                t.tried += 1;
                t.rejected += 1;
                t.wrong_class += 1;
                failures.push(format!(
                    "wrong error for [{}]: expected {}, got {}",
                    applied.desc,
                    match applied.expect {
                        Expect::Mismatch => "Mismatch".to_string(),
                        Expect::Model(s) => format!("Model(..{s}..)"),
                        Expect::ByDesign => unreachable!(),
                    },
                    out.describe()
                ));
            }
        }
        let desc = applied.desc.clone();
        run_undo(applied.undo);
        // Every mutation must start from the signed state: the tree on disk is compared with the
        // fixture each time, and every fifth time the restored model must also verify again (no
        // false positive).
        if let Err(e) = snapshot_matches(&fx) {
            failures.push(format!("undoing [{desc}] left the model changed: {e}"));
            break;
        }
        if i % 5 == 4 {
            if let o @ (Outcome::Fail(_) | Outcome::Panic(_)) =
                verify_outcome(&fx.root, &signed.bundle, &verifier, &strict)
            {
                failures.push(format!(
                    "the model does not verify after undoing [{desc}]: {}",
                    o.describe()
                ));
                break;
            }
        }
    }
    print_tally(
        &format!("model mutations, {test}, {recorded}"),
        &tally,
        start.elapsed(),
    );
    for f in &failures {
        eprintln!("FAILURE: {f}");
    }
    assert!(
        failures.is_empty(),
        "{} failures (first: {})",
        failures.len(),
        failures[0]
    );
    for (k, t) in &tally {
        assert_eq!(
            t.rejected,
            t.tried,
            "{}: not every mutation was rejected",
            k.label()
        );
    }
}

#[test]
pub(crate) fn model_mutations_sha256_files() {
    model_campaign(
        "model_mutations_sha256_files",
        HashAlgorithm::Sha256,
        Serialization::Files,
        scaled(400),
    );
}

#[test]
pub(crate) fn model_mutations_sha256_shards_1000() {
    model_campaign(
        "model_mutations_sha256_shards_1000",
        HashAlgorithm::Sha256,
        Serialization::Shards { shard_size: 1000 },
        scaled(400),
    );
}

#[test]
pub(crate) fn model_mutations_blake2b_files() {
    model_campaign(
        "model_mutations_blake2b_files",
        HashAlgorithm::Blake2b,
        Serialization::Files,
        scaled(300),
    );
}

#[test]
pub(crate) fn model_mutations_blake2b_shards_1000() {
    model_campaign(
        "model_mutations_blake2b_shards_1000",
        HashAlgorithm::Blake2b,
        Serialization::Shards { shard_size: 1000 },
        scaled(300),
    );
}

#[test]
pub(crate) fn model_mutations_blake3_files() {
    model_campaign(
        "model_mutations_blake3_files",
        HashAlgorithm::Blake3,
        Serialization::Files,
        scaled(300),
    );
}

/// A single-file model: flips, truncations and appends of the one file; a symlinked model path is
/// followed on purpose (the user named it).
#[test]
pub(crate) fn single_file_model_mutations() {
    let mut rng = Rng::for_test("single_file_model_mutations");
    let start = Instant::now();
    let mut lines = Vec::new();
    for ser in [
        Serialization::Files,
        Serialization::Shards { shard_size: 1000 },
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let model = tmp.path().join("model.bin");
        let n = rng.between(4_000, 9_000);
        let data = rng.bytes(n);
        fs::write(&model, &data).unwrap();
        let signed = sign(&model, &hashing(HashAlgorithm::Sha256, ser));
        let v = signed.verifier();
        let opts = VerifyOptions::default();
        assert!(matches!(
            verify_outcome(&model, &signed.bundle, &v, &opts),
            Outcome::Pass(_)
        ));
        let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for i in 0..scaled(120) {
            let mut d = data.clone();
            let what = match i % 3 {
                0 => {
                    let off = rng.below(d.len());
                    d[off] ^= rng.nonzero_byte();
                    "byte flip"
                }
                1 => {
                    let l = rng.below(d.len());
                    d.truncate(l);
                    "truncate"
                }
                _ => {
                    let k = rng.between(1, 2000);
                    d.extend(rng.bytes(k));
                    "append"
                }
            };
            fs::write(&model, &d).unwrap();
            let out = verify_outcome(&model, &signed.bundle, &v, &opts);
            let c = counts.entry(what).or_default();
            c.0 += 1;
            match out {
                Outcome::Fail(Error::Mismatch(_)) => c.1 += 1,
                o => panic!("{ser:?}: {what} of the single-file model: {}", o.describe()),
            }
        }
        fs::write(&model, &data).unwrap();
        // The model path itself may be a symlink (the user named it): followed, by design.
        let copy = tmp.path().join("copy.bin");
        fs::write(&copy, &data).unwrap();
        let link = tmp.path().join("link.bin");
        symlink(&copy, &link).unwrap();
        let by_design = verify_outcome(&link, &signed.bundle, &v, &opts);
        for (k, (t, r)) in counts {
            lines.push(format!(
                "{:<10} {k:<10} tried {t:>4} rejected {r:>4}",
                ser.method()
            ));
        }
        lines.push(format!(
            "{:<10} model path is a symlink to an identical copy (by design followed): {}",
            ser.method(),
            by_design.describe()
        ));
    }
    eprintln!(
        "\n== single-file model mutations: {:.1} s ==\n{}",
        start.elapsed().as_secs_f64(),
        lines.join("\n")
    );
}
