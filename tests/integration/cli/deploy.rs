//! The files `docs/DEPLOY.md` tells an admin to install: the systemd unit passes systemd's
//! own check (`systemd-analyze verify`: every key known, the binary there) with no warning.

use std::process::Command;

#[test]
fn the_systemd_unit_is_valid() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/keepsake.service"
    ))
    .expect("deploy/keepsake.service");
    assert!(unit.contains("ExecStart=/usr/local/bin/cms serve"));
    for hardening in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "SystemCallFilter=@system-service",
    ] {
        assert!(unit.contains(hardening), "{hardening}");
    }
    // Checked as installed, with the binary the tests run standing in for /usr/local/bin/cms.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("keepsake.service");
    let bin = crate::common::cms_bin();
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/cms", &bin.display().to_string()),
    )
    .expect("write");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze (scripts/test installs systemd when it is missing)");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let own: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("keepsake.service"))
        .collect();
    assert!(own.is_empty(), "systemd finds fault with the unit: {own:?}");
}
