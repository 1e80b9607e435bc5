//! Bytes per tracked key in the memory store at 1M keys, from the process's
//! resident set size before and after.
//!
//! Run: `cargo bench -p loginguard-core --bench memory_footprint`

use std::net::Ipv4Addr;
use std::time::SystemTime;

use loginguard_core::record::Limits;
use loginguard_core::{Key, MemoryStore, Store};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    const N: u32 = 1_000_000;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let limits = Limits::new(3);
    let before = rss_bytes();
    let store = MemoryStore::with_max_keys(N as usize);
    // Failures with no window never expire: once a key's shard is full,
    // new keys are refused (`StoreError::Full`) rather than evicting any.
    let refused = rt.block_on(async {
        let mut refused = 0u32;
        for i in 0..N {
            let key = Key::new("login").with_ip(Ipv4Addr::from(0x0a00_0000 | i).to_string());
            if store
                .begin_attempt(&key, &limits, SystemTime::now())
                .await
                .is_err()
            {
                refused += 1;
            }
        }
        refused
    });
    let after = rss_bytes();
    let tracked = store.len();
    println!(
        "memory store: {tracked} keys tracked (bound {}), {refused} refused as full, {:.0} bytes per key (RSS {} MiB -> {} MiB)",
        store.max_keys(),
        (after - before) as f64 / tracked as f64,
        before >> 20,
        after >> 20
    );
}
