//! Peak memory of a run of our binary, as the kernel accounts it.

use super::{bin, run, Run};
use std::process::Command;

/// Runs our binary with `args` under a Python wrapper that reports its peak resident memory
/// (`getrusage(RUSAGE_CHILDREN).ru_maxrss`, in KiB): the run, and that peak.
pub fn ms_with_peak_rss(args: Vec<std::ffi::OsString>) -> (Run, u64) {
    let wrapper = "import resource, subprocess, sys\n\
        p = subprocess.run(sys.argv[1:], capture_output=True)\n\
        sys.stdout.buffer.write(p.stdout)\n\
        sys.stderr.buffer.write(p.stderr)\n\
        print('MAXRSS_KB=%d' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n\
        sys.exit(p.returncode)\n";
    let mut cmd = Command::new("python3");
    cmd.args(["-c", wrapper]).arg(bin()).args(args);
    let r = run(&mut cmd);
    let kb = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("MAXRSS_KB="))
        .and_then(|v| v.trim().parse().ok())
        .expect("the wrapper's MAXRSS_KB line");
    (r, kb)
}
