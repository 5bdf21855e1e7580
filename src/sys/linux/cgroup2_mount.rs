//! Where the cgroup v2 hierarchy is mounted: `(root, mount point)` of the first cgroup2 mount.
//!
//! `listmount` and `statmount` (Linux 6.8+) answer with numbers and two strings, asked for the
//! one mount that matters; `/proc/self/mountinfo` makes the kernel print every option of every
//! mount first, about twice the cost at start-up. The file is the fallback (older kernels,
//! seccomp filters that refuse the calls).

use std::path::PathBuf;

use crate::sys::procfs::read_proc;

/// `(root, mount point)` of the cgroup2 mount, or why there is none.
pub fn cgroup2() -> Result<(String, PathBuf), String> {
    if let Some(found) = by_statmount() {
        return Ok(found);
    }
    let mountinfo = read_proc("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    find_cgroup2_mount(&mountinfo).ok_or_else(|| "no cgroup v2 hierarchy is mounted".into())
}

/// The same answer from `listmount` + `statmount`; `None` when they are unavailable or find no
/// cgroup2 mount (the caller then reads mountinfo, which settles it).
#[cfg(target_os = "linux")]
fn by_statmount() -> Option<(String, PathBuf)> {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    // The generic system call numbers, the same on every architecture.
    const SYS_STATMOUNT: libc::c_long = 457;
    const SYS_LISTMOUNT: libc::c_long = 458;
    const LSMT_ROOT: u64 = u64::MAX;
    const STATMOUNT_SB_BASIC: u64 = 0x1;
    const STATMOUNT_MNT_ROOT: u64 = 0x8;
    const STATMOUNT_MNT_POINT: u64 = 0x10;
    const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;
    // `struct statmount`: byte offsets of the fields used, and of the string area.
    const MASK: usize = 8;
    const SB_MAGIC: usize = 24;
    const MNT_ROOT: usize = 104;
    const MNT_POINT: usize = 108;
    const STRINGS: usize = 512;

    /// `struct mnt_id_req`, version 0.
    #[repr(C)]
    struct MntIdReq {
        size: u32,
        spare: u32,
        mnt_id: u64,
        param: u64,
    }
    fn request(mnt_id: u64, param: u64) -> MntIdReq {
        MntIdReq {
            size: std::mem::size_of::<MntIdReq>() as u32,
            spare: 0,
            mnt_id,
            param,
        }
    }

    /// A `struct statmount` with room for its strings, 8-byte aligned.
    struct Buffer([u64; 512]);
    impl Buffer {
        fn bytes(&self) -> &[u8] {
            // SAFETY: viewing initialised u64s as bytes; u8 has no alignment or validity needs.
            unsafe {
                std::slice::from_raw_parts(self.0.as_ptr().cast(), std::mem::size_of_val(&self.0))
            }
        }
        fn u32_at(&self, at: usize) -> u32 {
            u32::from_ne_bytes(self.bytes()[at..at + 4].try_into().unwrap_or_default())
        }
        fn u64_at(&self, at: usize) -> u64 {
            u64::from_ne_bytes(self.bytes()[at..at + 8].try_into().unwrap_or_default())
        }
        /// A NUL-terminated string at an offset into the string area.
        fn string(&self, offset: u32) -> Option<&[u8]> {
            let rest = self.bytes().get(STRINGS + offset as usize..)?;
            rest.split(|b| *b == 0).next()
        }
    }
    fn statmount(mnt_id: u64, mask: u64, buf: &mut Buffer) -> bool {
        let req = request(mnt_id, mask);
        // SAFETY: statmount writes at most `size_of_val(buf)` bytes into `buf` and reads `req`.
        let ret = unsafe {
            libc::syscall(
                SYS_STATMOUNT,
                &req as *const MntIdReq,
                buf.0.as_mut_ptr(),
                std::mem::size_of_val(&buf.0),
                0,
            )
        };
        ret == 0 && buf.u64_at(MASK) & mask == mask
    }

    let mut ids = [0u64; 256];
    let mut buf = Buffer([0; 512]);
    let mut after = 0;
    loop {
        let req = request(LSMT_ROOT, after);
        // SAFETY: listmount writes at most `ids.len()` mount IDs into `ids` and reads `req`.
        let n = unsafe {
            libc::syscall(
                SYS_LISTMOUNT,
                &req as *const MntIdReq,
                ids.as_mut_ptr(),
                ids.len(),
                0,
            )
        };
        let n = usize::try_from(n).ok()?;
        for &id in &ids[..n.min(ids.len())] {
            if !statmount(id, STATMOUNT_SB_BASIC, &mut buf)
                || buf.u64_at(SB_MAGIC) != CGROUP2_SUPER_MAGIC
            {
                continue;
            }
            if !statmount(id, STATMOUNT_MNT_ROOT | STATMOUNT_MNT_POINT, &mut buf) {
                return None;
            }
            let root = std::str::from_utf8(buf.string(buf.u32_at(MNT_ROOT))?).ok()?;
            let point = OsStr::from_bytes(buf.string(buf.u32_at(MNT_POINT))?);
            return Some((root.to_owned(), PathBuf::from(point)));
        }
        if n < ids.len() {
            return None;
        }
        after = ids[ids.len() - 1];
    }
}

#[cfg(not(target_os = "linux"))]
fn by_statmount() -> Option<(String, PathBuf)> {
    None
}

/// `(root, mount point)` of the first cgroup2 mount in a mountinfo text.
fn find_cgroup2_mount(mountinfo: &str) -> Option<(String, PathBuf)> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_ascii_whitespace().next()? != "cgroup2" {
            return None;
        }
        let fields: Vec<&str> = left.split_ascii_whitespace().collect();
        Some((
            unescape(fields.get(3)?),
            PathBuf::from(unescape(fields.get(4)?)),
        ))
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn finds_the_v2_mount_in_a_hybrid_layout() {
        let (root, point) = find_cgroup2_mount(HYBRID).unwrap();
        assert_eq!(root, "/");
        assert_eq!(point, PathBuf::from("/sys/fs/cgroup/unified"));
    }

    #[test]
    fn finds_the_v2_mount_in_a_unified_layout_with_escapes() {
        let info = "25 1 0:22 /sub /mnt/my\\040cgroups rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let (root, point) = find_cgroup2_mount(info).unwrap();
        assert_eq!(root, "/sub");
        assert_eq!(point, PathBuf::from("/mnt/my cgroups"));
    }

    #[test]
    fn no_v2_mount() {
        assert!(
            find_cgroup2_mount("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n")
                .is_none()
        );
    }

    #[test]
    fn statmount_agrees_with_mountinfo() {
        let Some(fast) = by_statmount() else {
            eprintln!("skipped: listmount/statmount unavailable or no cgroup2 mount here");
            return;
        };
        let mountinfo = read_proc("/proc/self/mountinfo").expect("mountinfo");
        assert_eq!(Some(fast), find_cgroup2_mount(&mountinfo));
    }
}
