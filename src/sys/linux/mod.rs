//! The Linux backend (see the parent module for the seam).

pub mod census;
pub mod cgroup2_mount;
mod clone;
pub mod contain;
pub mod events;
pub mod procfs;
pub mod spawn;
