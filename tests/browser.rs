//! The dashboard's tools: Debian's Chromium driven by `playwright-core`, and a local OIDC issuer
//! (`oauth2-mock-server`), installed pinned by `tests/dashboard-browser/install.sh` into
//! `.tools/dashboard-browser/`. A missing tool fails the test that needs it, loudly.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scripts() -> PathBuf {
    root().join("tests/dashboard-browser")
}

fn node_modules() -> PathBuf {
    root().join(".tools/dashboard-browser/node_modules")
}

/// Installs Chromium (apt) and the pinned npm packages when missing (quick once installed).
pub fn install() {
    let status = Command::new("bash").arg(scripts().join("install.sh")).status().expect("bash runs");
    assert!(status.success(), "tests/dashboard-browser/install.sh failed: Chromium and the npm packages are needed");
    assert!(PathBuf::from("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing after install.sh");
    assert!(node_modules().join("playwright-core").exists(), "playwright-core is missing after install.sh");
}

/// Where test artifacts go: `target/dashboard/`.
pub fn artifacts() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"));
    let dir = if dir.is_absolute() { dir } else { root().join(dir) };
    let dir = dir.join("dashboard");
    std::fs::create_dir_all(&dir).expect("create target/dashboard");
    dir
}

/// Opens the page at `url` in headless Chromium (a fresh profile) and returns what it saw
/// (`tests/dashboard-browser/check.js`). `sign_in`: the page first shows its sign-in button,
/// which is clicked (authorization code + PKCE with the issuer).
pub fn check_page(url: &str, screenshot: Option<PathBuf>, account_screenshot: Option<PathBuf>, sign_in: bool) -> Value {
    let profile = artifacts().join(format!("profile-{}-{}", std::process::id(), rand_suffix()));
    let input = serde_json::json!({
        "url": url,
        "screenshot": screenshot,
        "accountScreenshot": account_screenshot,
        "userDataDir": profile,
        "signIn": sign_in,
    });
    let mut child = Command::new("node")
        .arg(scripts().join("check.js"))
        .env("NODE_PATH", node_modules())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node starts (install Node.js 20+)");
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().expect("check.js ends");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "check.js failed (its error is above): {}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check.js printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// A running local OIDC issuer; it stops when dropped.
pub struct Issuer {
    pub url: String,
    /// Tokens signed in advance: valid, valid_list_audience, expired, wrong_audience,
    /// wrong_issuer, foreign_key.
    pub tokens: Value,
    child: Child,
}

impl Issuer {
    /// Starts `oauth2-mock-server` on a free port; its tokens carry `audience`.
    pub fn start(audience: &str) -> Issuer {
        Issuer::start_with(audience, audience)
    }

    /// As [`Issuer::start`], but the access tokens of its sign-in flow are for `access_audience`
    /// (as Entra ID's are for Microsoft Graph); its ID tokens are for the client.
    pub fn start_with(audience: &str, access_audience: &str) -> Issuer {
        let mut child = Command::new("node")
            .arg(scripts().join("issuer.js"))
            .arg(audience)
            .arg(access_audience)
            .env("NODE_PATH", node_modules())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node starts (install Node.js 20+)");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).expect("issuer.js prints its address");
        let started: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("issuer.js did not start ({e}): {line:?}; see its error above"));
        Issuer { url: started["issuer"].as_str().unwrap().to_owned(), tokens: started["tokens"].clone(), child }
    }

    pub fn token(&self, name: &str) -> String {
        self.tokens[name].as_str().unwrap_or_else(|| panic!("no {name} token")).to_owned()
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
