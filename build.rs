//! Link-time settings that make `defer` start faster on Linux with glibc (BENCHMARKS.md,
//! "Start-up", has the measurements). `.cargo/config.toml` makes the build static-pie; this
//! adds what a `cargo` setting cannot.
//!
//! - **Packed relative relocations** (DT_RELR, `-z pack-relative-relocs`, binaries only): a
//!   position-independent executable carries one relocation per pointer in its read-only data
//!   (about 18,000 here, 430 KB of table), applied at every start; RELR stores them as a
//!   bitmap of 5 KB. A linker that does not know the option (binutils before 2.38) warns and
//!   ignores it; one linking against a glibc before 2.36 leaves it out.
//! - When the build is not static (`RUSTFLAGS` replaced the config's flags, or another
//!   target): **the unwinder linked in** (`libgcc_eh.a`, as a static build does) instead of
//!   `libgcc_s.so.1`, whose constructor identifies the CPU with a dozen `cpuid` instructions
//!   at every start, each a trap to the hypervisor on a virtual machine. Only when the C
//!   compiler knows where `libgcc_eh.a` is; otherwise `libgcc_s` stays.

use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CC");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os != "linux" || env != "gnu" {
        return;
    }
    println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    let static_crt = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|features| features.split(',').any(|f| f == "crt-static"));
    if !static_crt && let Some(dir) = libgcc_eh_dir() {
        println!("cargo::rustc-link-search=native={dir}");
        // Not bundled into the rlib: linked once, where the final binary is linked, ahead of
        // std's `-lgcc_s`, which `--as-needed` then drops.
        println!("cargo::rustc-link-lib=static:-bundle=gcc_eh");
    }
}

/// The directory of the C compiler's `libgcc_eh.a`, if it has one.
fn libgcc_eh_dir() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    let path = String::from_utf8(out.stdout).ok()?;
    let path = std::path::Path::new(path.trim());
    // An unknown file is printed back as its bare name.
    if !out.status.success() || !path.is_absolute() || !path.is_file() {
        return None;
    }
    Some(path.parent()?.to_str()?.to_string())
}
