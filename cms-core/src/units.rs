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

/// A count with its noun, digits grouped as people write them: `1 photo`, `3 photos`,
/// `7,675 photos`.
pub fn counted(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}

/// A number with its thousands grouped: `7,675`, `1,000,000`, `-12,000`.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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

    #[test]
    fn counts() {
        assert_eq!(super::counted(1, "photo", "photos"), "1 photo");
        assert_eq!(super::counted(0, "photo", "photos"), "0 photos");
        assert_eq!(
            super::counted(7675, "HD capture", "HD captures"),
            "7,675 HD captures"
        );
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(1000), "1,000");
        assert_eq!(super::grouped(1_000_000), "1,000,000");
        assert_eq!(super::grouped(-12_000), "-12,000");
        assert_eq!(super::grouped(i64::MIN), "-9,223,372,036,854,775,808");
    }
}
