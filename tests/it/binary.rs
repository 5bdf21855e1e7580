//! What the built binary asks of the system it runs on.

use std::process::Command;

use crate::util::bin;

/// The default build asks no more of the C library than Rust's std does: glibc 2.34 (Debian 12,
/// Ubuntu 22.04, RHEL 9). A newer symbol version would make the binary refuse to start there.
#[test]
fn needs_no_glibc_symbol_version_above_2_34() {
    if crate::util::linux_only(
        "needs_no_glibc_symbol_version_above_2_34",
        "glibc symbol versions",
    ) {
        return;
    }
    let out = Command::new("objdump")
        .arg("-T")
        .arg(bin())
        .output()
        .expect("objdump (binutils) runs");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let versions: Vec<(u32, u32)> = text
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut parts = v.split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next().unwrap_or("0").parse().ok()?;
            Some((major, minor))
        })
        .collect();
    if versions.is_empty() {
        // A static or non-glibc build needs no versions at all.
        return;
    }
    let newest = versions.iter().max().copied().unwrap_or_default();
    assert!(
        newest <= (2, 34),
        "the binary needs GLIBC_{}.{}:\n{text}",
        newest.0,
        newest.1
    );
}
