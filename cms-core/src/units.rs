//! Quantities as people read them.

/// A size in bytes as `980 bytes`, `12 KB`, `3.4 MB` or `1.2 GB` (powers of 1024, never
/// `0.0 MB`).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return if n == 1 {
            "1 byte".into()
        } else {
            format!("{n} bytes")
        };
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if v < 10.0 {
        format!("{v:.1} {}", UNITS[unit])
    } else {
        format!("{v:.0} {}", UNITS[unit])
    }
}

/// A count with its noun: `1 photo`, `3 photos`, `0 photos`.
pub fn counted(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::bytes(0), "0 bytes");
        assert_eq!(super::bytes(1), "1 byte");
        assert_eq!(super::bytes(1023), "1023 bytes");
        assert_eq!(super::bytes(1536), "1.5 KB");
        assert_eq!(super::bytes(200 * 1024), "200 KB");
        assert_eq!(super::bytes(3_565_158), "3.4 MB");
        assert_eq!(super::bytes(5 << 30), "5.0 GB");
    }
}
