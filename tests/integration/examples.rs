//! The examples and executors in `examples/` run as written (their own script checks them).

use std::process::Command;

#[test]
fn examples_and_executors_run_as_written() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("bash")
        .arg("examples/test-examples.sh")
        .current_dir(root)
        .env("DEFER_BIN", env!("CARGO_BIN_EXE_defer"))
        .output()
        .expect("run examples/test-examples.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "examples failed:\n{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        last.ends_with(" passed, 0 failed"),
        "unexpected summary {last:?}"
    );
    let passed: usize = last
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 10, "only {passed} example checks ran");
}
