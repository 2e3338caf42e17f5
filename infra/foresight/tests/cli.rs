//! The `foresight` binary's contract (local-api.md): `listening on http://ADDR` once it accepts
//! requests, and a non-zero exit with a clear message on a bad configuration.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn foresight() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_foresight"));
    command.env_remove("RUST_LOG");
    command
}

#[test]
fn a_bad_configuration_exits_non_zero_naming_the_field() {
    let path = std::env::temp_dir().join(format!("foresight-bad-{}.toml", std::process::id()));
    std::fs::write(&path, "[health.weights]\nusage = 2\n").unwrap();
    let out = foresight().args(["dev", "--addr", "127.0.0.1:0", "--config"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("health.weights.usage is 2"), "{stderr}");
    let missing = foresight().args(["dev", "--config", "/no/such/file.toml"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn prints_listening_once_it_accepts_requests() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../foresight.example.toml");
    let mut child = foresight()
        .args(["dev", "--addr", "127.0.0.1:0", "--config", example])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line:?}")).to_owned();
    let addr = url.strip_prefix("http://").unwrap();
    // It accepts a connection right away.
    assert!(std::net::TcpStream::connect(addr).is_ok(), "{addr}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn sign_in_needs_a_reachable_issuer_and_an_audience() {
    let no_issuer = foresight().args(["dev", "--addr", "127.0.0.1:0", "--auth", "oidc", "--audience", "api"]).output();
    let no_issuer = no_issuer.unwrap();
    assert_eq!(no_issuer.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_issuer.stderr).contains("--issuer"), "{no_issuer:?}");
    // Port 9 (discard) on loopback: nothing listens, so discovery fails and the runner says where.
    let unreachable = foresight()
        .args(["dev", "--addr", "127.0.0.1:0", "--auth", "oidc", "--issuer", "http://127.0.0.1:9", "--audience", "api"])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert!(stderr.contains("http://127.0.0.1:9/.well-known/openid-configuration"), "{stderr}");
}
