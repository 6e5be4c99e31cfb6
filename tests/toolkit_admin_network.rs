//! The admin API refuses clients that are not on loopback, seen over a real network: a test
//! host in a network namespace of our own (veth pair, private /30) calls the sandbox. Needs
//! root and iproute2 (as CI has); elsewhere the test says why it did not run.

use std::process::Command;

struct TestHost {
    ns: String,
    host_link: String,
}

impl TestHost {
    fn create(id: u32) -> Option<TestHost> {
        let ns = format!("psbx-{id}");
        let host_link = format!("psbx-h{id}");
        let peer_link = format!("psbx-n{id}");
        let sh = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        let ok = sh(&["netns", "add", &ns])
            && sh(&[
                "link", "add", &host_link, "type", "veth", "peer", "name", &peer_link,
            ])
            && sh(&["link", "set", &peer_link, "netns", &ns])
            && sh(&["addr", "add", "10.213.9.1/30", "dev", &host_link])
            && sh(&["link", "set", &host_link, "up"])
            && sh(&[
                "netns",
                "exec",
                &ns,
                "ip",
                "addr",
                "add",
                "10.213.9.2/30",
                "dev",
                &peer_link,
            ])
            && sh(&["netns", "exec", &ns, "ip", "link", "set", &peer_link, "up"]);
        let host = TestHost { ns, host_link };
        ok.then_some(host)
    }

    /// `curl` from inside the test host; returns the HTTP status.
    fn curl(&self, url: &str, headers: &[&str]) -> String {
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &self.ns,
            "curl",
            "-s",
            "-m",
            "5",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ]);
        for h in headers {
            cmd.args(["-H", h]);
        }
        let out = cmd.arg(url).output().expect("curl runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_link])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_refuses_a_remote_client_unless_it_sends_the_admin_token() {
    let can_run = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
        && Command::new("curl").arg("--version").output().is_ok();
    let Some(host) = can_run
        .then(|| TestHost::create(std::process::id() % 10_000))
        .flatten()
    else {
        eprintln!("not run: needs root, iproute2 and curl to create a network-namespace test host");
        return;
    };
    let config = paysandbox::Config {
        host: "10.213.9.1".parse().expect("ip"),
        port: 0,
        admin_token: Some("let-me-in".into()),
        ..Default::default()
    };
    let sandbox = paysandbox::Sandbox::builder()
        .config(config)
        .start()
        .await
        .expect("starts");
    let base = sandbox.url();
    let (health, provider, with_token) = tokio::task::spawn_blocking(move || {
        (
            host.curl(&format!("{base}/__sandbox/health"), &[]),
            host.curl(
                &format!("{base}/v2/cards"),
                &["Authorization: Bearer EAAA-remote"],
            ),
            host.curl(
                &format!("{base}/__sandbox/health"),
                &["X-Sandbox-Admin-Token: let-me-in"],
            ),
        )
    })
    .await
    .expect("curl finished");
    assert_eq!(
        health, "403",
        "a remote client must not reach the admin API"
    );
    assert_eq!(provider, "200", "the provider API serves remote clients");
    assert_eq!(with_token, "200", "the admin token opens the admin API");
}
